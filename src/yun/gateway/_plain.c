/* `parse(data, max_body)`: the gateway's reader of a plain call, in C.

   The same reading as `yun.gateway._protocol.parse_plain` (the reference, used where this
   module is not built, and checked against this one by the tests): `data` is exactly one
   `POST /fn/NAME[:QUALIFIER] HTTP/1.1` request with strict header lines, one Content-Length
   (digits only, at most `max_body`, matching the bytes that follow the head), at most one
   Authorization, and none of the headers that change framing or meaning. Anything else is
   None, and the request goes to httptools.

   Why C: the Python reader takes about 3.4 µs a request (three regular expressions, a
   lower-cased copy of the head, five searches), at 64 connections 5 % of all the CPU a
   request costs; one pass over the bytes here takes a tenth of that. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* tchar of RFC 9110: a header name's bytes */
static int is_token(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* a header value's bytes: no control character but tab */
static int is_value(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The header name `name` (length n) is `lower` (lower case), ignoring ASCII case. */
static int name_is(const unsigned char *name, Py_ssize_t n, const char *lower) {
    Py_ssize_t i;
    if ((size_t)n != strlen(lower))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lower[i])
            return 0;
    }
    return 1;
}

static int is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

static PyObject *parse(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    const unsigned char *d;
    Py_ssize_t n, i, target_start, target_end, max_body;
    Py_ssize_t length_at = -1, length_end = 0, auth_at = -1, auth_end = 0;
    Py_ssize_t size;
    int lengths = 0, auths = 0;
    PyObject *target, *authorization, *body, *result;

    (void)module;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "parse(data: bytes, max_body: int)");
        return NULL;
    }
    max_body = PyLong_AsSsize_t(args[1]);
    if (max_body == -1 && PyErr_Occurred())
        return NULL;
    if (max_body < 0 || max_body > PY_SSIZE_T_MAX / 10) {  /* the length below cannot overflow */
        PyErr_Format(PyExc_ValueError, "max_body must be 0..%zd, was: %zd",
                     PY_SSIZE_T_MAX / 10, max_body);
        return NULL;
    }
    d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    n = PyBytes_GET_SIZE(args[0]);

    /* the request line: POST /fn/[a-z][a-z0-9-]*(:[A-Za-z0-9_-]+)? HTTP/1.1 CR LF */
    if (n < 9 || memcmp(d, "POST /fn/", 9) != 0)
        Py_RETURN_NONE;
    i = 9;
    target_start = i;
    if (i >= n || !(d[i] >= 'a' && d[i] <= 'z'))
        Py_RETURN_NONE;
    for (i++; i < n && ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
                        d[i] == '-'); i++)
        ;
    if (i < n && d[i] == ':') {
        Py_ssize_t qualifier = ++i;
        for (; i < n && ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
                         (d[i] >= '0' && d[i] <= '9') || d[i] == '_' || d[i] == '-'); i++)
            ;
        if (i == qualifier)
            Py_RETURN_NONE;
    }
    target_end = i;
    if (n - i < 11 || memcmp(d + i, " HTTP/1.1\r\n", 11) != 0)
        Py_RETURN_NONE;
    i += 11;

    /* header lines (token ":" value CR LF), then the blank line */
    for (;;) {
        Py_ssize_t name_at = i, value_at;
        if (n - i >= 2 && d[i] == '\r' && d[i + 1] == '\n') {
            i += 2;
            break;
        }
        while (i < n && is_token(d[i]))
            i++;
        if (i == name_at || i >= n || d[i] != ':')
            Py_RETURN_NONE;
        value_at = i + 1;
        for (i = value_at; i < n && is_value(d[i]); i++)
            ;
        if (n - i < 2 || d[i] != '\r' || d[i + 1] != '\n')
            Py_RETURN_NONE;
        {
            const unsigned char *name = d + name_at;
            Py_ssize_t name_len = value_at - 1 - name_at;
            if (name_is(name, name_len, "content-length")) {
                lengths++;
                length_at = value_at;
                length_end = i;
            } else if (name_is(name, name_len, "authorization")) {
                auths++;
                auth_at = value_at;
                auth_end = i;
            } else if (name_is(name, name_len, "transfer-encoding") ||
                       name_is(name, name_len, "connection") ||
                       name_is(name, name_len, "proxy-connection") ||
                       name_is(name, name_len, "expect") || name_is(name, name_len, "upgrade") ||
                       name_is(name, name_len, "x-yun-depth")) {
                Py_RETURN_NONE;
            }
        }
        i += 2;
    }

    /* exactly one Content-Length of at most as many digits as max_body has */
    if (lengths != 1 || auths > 1)
        Py_RETURN_NONE;
    while (length_at < length_end && is_blank(d[length_at]))
        length_at++;
    while (length_end > length_at && is_blank(d[length_end - 1]))
        length_end--;
    if (length_at == length_end)
        Py_RETURN_NONE;
    {
        Py_ssize_t digits = 0, limit = max_body;
        do {
            digits++;
            limit /= 10;
        } while (limit > 0);
        if (length_end - length_at > digits)
            Py_RETURN_NONE;
    }
    size = 0;
    for (; length_at < length_end; length_at++) {
        if (d[length_at] < '0' || d[length_at] > '9')
            Py_RETURN_NONE;
        size = size * 10 + (d[length_at] - '0');
    }
    if (size > max_body || n - i != size)
        Py_RETURN_NONE;  /* too large, a partial body or a pipelined request behind it */

    if (auth_at >= 0) {
        while (auth_at < auth_end && is_blank(d[auth_at]))
            auth_at++;
    }
    target = PyUnicode_DecodeASCII((const char *)d + target_start, target_end - target_start,
                                   NULL);
    if (target == NULL)
        return NULL;
    if (auth_at >= 0) {
        authorization = PyUnicode_DecodeLatin1((const char *)d + auth_at, auth_end - auth_at,
                                               NULL);
        if (authorization == NULL) {
            Py_DECREF(target);
            return NULL;
        }
    } else {
        authorization = Py_NewRef(Py_None);
    }
    body = PyBytes_FromStringAndSize((const char *)d + i, size);
    if (body == NULL) {
        Py_DECREF(target);
        Py_DECREF(authorization);
        return NULL;
    }
    result = PyTuple_Pack(3, target, authorization, body);
    Py_DECREF(target);
    Py_DECREF(authorization);
    Py_DECREF(body);
    return result;
}

static PyMethodDef methods[] = {
    {"parse", (PyCFunction)(void (*)(void))parse, METH_FASTCALL,
     "parse(data, max_body) -> (target, authorization, body) | None: one plain call"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "yun.gateway._plain",
    "The gateway's reader of a plain call (see _protocol.parse_plain).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__plain(void) { return PyModule_Create(&module); }
