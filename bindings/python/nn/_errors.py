"""nn.Error and one subclass per nn_status code.

Each subclass also derives from the closest built-in exception (ValueError,
MemoryError, OSError, LookupError, ...) so generic ``except`` clauses work.
Statuses nn adds later map to plain ``nn.Error`` (callers must tolerate unknown
codes, docs/conventions.md).
"""

NN_OK = 0
NN_E_INVALID_ARG = -1
NN_E_NOMEM = -2
NN_E_IO = -3
NN_E_PARSE = -4
NN_E_INVALID_MODEL = -5
NN_E_UNSUPPORTED = -6
NN_E_SHAPE = -7
NN_E_TYPE = -8
NN_E_LIMIT = -9
NN_E_NOT_FOUND = -10
NN_E_STATE = -11
NN_E_INTERNAL = -12


class Error(Exception):
    """A failed nn call: ``status`` is the nn_status code (negative int),
    ``message`` the library's nn_last_error() text (or the binding's own)."""

    status = None

    def __init__(self, status, message=""):
        Exception.__init__(self, status, message)
        self.status = int(status)
        self.message = message

    def __str__(self):
        return "%s (%s)" % (self.message, status_name(self.status)) if self.message else status_name(self.status)

    def __reduce__(self):
        return (type(self), (self.status, self.message))


class InvalidArgumentError(Error, ValueError):
    """NN_E_INVALID_ARG: a bad argument, option or index."""


class OutOfMemoryError(Error, MemoryError):
    """NN_E_NOMEM: an allocation failed."""


class FileError(Error, OSError):
    """NN_E_IO: a file could not be opened, read or written."""

    def __init__(self, status, message=""):
        Error.__init__(self, status, message)

    def __str__(self):
        return Error.__str__(self)


class ParseError(Error, ValueError):
    """NN_E_PARSE: the bytes are not a valid model/tensor/image file."""


class InvalidModelError(Error, ValueError):
    """NN_E_INVALID_MODEL: the file parses but the model is inconsistent."""


class UnsupportedError(Error, NotImplementedError):
    """NN_E_UNSUPPORTED: an operator, type or feature nn does not implement."""


class ShapeError(Error, ValueError):
    """NN_E_SHAPE: tensor shapes do not fit together."""


class DTypeError(Error, TypeError):
    """NN_E_TYPE: an element type is not what the operation needs."""


class LimitError(Error, ValueError):
    """NN_E_LIMIT: a size limit was exceeded."""


class NotFoundError(Error, LookupError):
    """NN_E_NOT_FOUND: a named input, output, layer or parameter does not exist."""


class StateError(Error, RuntimeError):
    """NN_E_STATE: the object is not in a state that allows this call
    (also raised for a closed Model/Session/Tensor)."""


class InternalError(Error, RuntimeError):
    """NN_E_INTERNAL: a bug in nn; please report it with the message."""


_BY_STATUS = {
    NN_E_INVALID_ARG: InvalidArgumentError,
    NN_E_NOMEM: OutOfMemoryError,
    NN_E_IO: FileError,
    NN_E_PARSE: ParseError,
    NN_E_INVALID_MODEL: InvalidModelError,
    NN_E_UNSUPPORTED: UnsupportedError,
    NN_E_SHAPE: ShapeError,
    NN_E_TYPE: DTypeError,
    NN_E_LIMIT: LimitError,
    NN_E_NOT_FOUND: NotFoundError,
    NN_E_STATE: StateError,
    NN_E_INTERNAL: InternalError,
}

_NAMES = {
    NN_OK: "NN_OK", NN_E_INVALID_ARG: "NN_E_INVALID_ARG", NN_E_NOMEM: "NN_E_NOMEM", NN_E_IO: "NN_E_IO",
    NN_E_PARSE: "NN_E_PARSE", NN_E_INVALID_MODEL: "NN_E_INVALID_MODEL", NN_E_UNSUPPORTED: "NN_E_UNSUPPORTED",
    NN_E_SHAPE: "NN_E_SHAPE", NN_E_TYPE: "NN_E_TYPE", NN_E_LIMIT: "NN_E_LIMIT", NN_E_NOT_FOUND: "NN_E_NOT_FOUND",
    NN_E_STATE: "NN_E_STATE", NN_E_INTERNAL: "NN_E_INTERNAL",
}


def status_name(status):
    """The C name of a status code ("NN_E_SHAPE"), or "status -N" if unknown."""
    return _NAMES.get(status, "status %d" % status)


def error_class(status):
    """The exception class for a status (nn.Error for unknown codes)."""
    return _BY_STATUS.get(status, Error)


def make_error(status, message):
    return error_class(status)(status, message)
