/* Coverage-guided, differential fuzzing of the gateway's plain-call reader.

   Each input is read by the C reader (`src/yun/gateway/_plain.c`, compiled into this
   binary with AddressSanitizer) and by the Python reference (`parse_plain`); any difference,
   or any bad memory access in the C reader, stops the run with the input saved. Run by
   `tests/fuzz/run-plain SECONDS` (clang and libFuzzer: `apt-get install clang
   libclang-rt-14-dev`); not part of `make test`. */

#include "../../src/yun/gateway/_plain.c"

#include <stdint.h>
#include <stdlib.h>

static PyObject *reference;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    PyObject *protocol;
    (void)argc;
    (void)argv;
    Py_Initialize();
    protocol = PyImport_ImportModule("yun.gateway._protocol");
    if (protocol == NULL) {
        PyErr_Print();
        abort();
    }
    reference = PyObject_GetAttrString(protocol, "parse_plain");
    if (reference == NULL) {
        PyErr_Print();
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The first byte picks the body limit; the rest is the request. */
    static const Py_ssize_t limits[] = {6 << 20, 0, 5, 16, 100, 9};
    PyObject *args[2], *ours, *theirs;
    int same;
    if (size == 0)
        return 0;
    args[0] = PyBytes_FromStringAndSize((const char *)data + 1, (Py_ssize_t)size - 1);
    args[1] = PyLong_FromSsize_t(limits[data[0] % 6]);
    ours = parse(NULL, args, 2);
    theirs = PyObject_Vectorcall(reference, args, 2, NULL);
    if (ours == NULL || theirs == NULL) {
        PyErr_Print();
        abort();
    }
    same = PyObject_RichCompareBool(ours, theirs, Py_EQ);
    if (same != 1) {
        PyObject_Print(ours, stderr, 0);
        fputs("\n  differs from the reference's\n", stderr);
        PyObject_Print(theirs, stderr, 0);
        fputs("\n", stderr);
        abort();
    }
    Py_DECREF(ours);
    Py_DECREF(theirs);
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    return 0;
}
