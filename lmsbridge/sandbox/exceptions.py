"""Errors the sandbox answers with, shaped like Moodle 4.5's (class, errorcode, message, debuginfo).

Class names and messages are the ones the recorded sites sent (tests/fixtures/moodle/INDEX.md): most
classes are namespaced (``core\\exception\\moodle_exception``), a few are not
(``dml_missing_record_exception``, ``webservice_access_exception``). ``debuginfo`` is only sent
when the site has debugging on (the ``*_debug`` fixtures).
"""

from __future__ import annotations

__all__ = [
    "MoodleError",
    "access_exception",
    "coding_error",
    "dml_write_error",
    "invalid_parameter",
    "invalid_user",
    "missing_record",
    "moodle_error",
    "no_permission",
]

MOODLE_EXCEPTION = "core\\exception\\moodle_exception"
INVALID_PARAMETER_EXCEPTION = "core\\exception\\invalid_parameter_exception"
REQUIRED_CAPABILITY_EXCEPTION = "core\\exception\\required_capability_exception"
CODING_EXCEPTION = "core\\exception\\coding_exception"
MISSING_RECORD_EXCEPTION = "dml_missing_record_exception"
ACCESS_EXCEPTION = "webservice_access_exception"
REPORT_ACCESS_EXCEPTION = "core_reportbuilder\\exception\\report_access_exception"
DML_WRITE_EXCEPTION = "dml_write_exception"

ACCESS_DEBUGINFO = """Access to the function {function}() is not allowed.
                     There could be multiple reasons for this:
                     1. The service linked to the user token does not contain the function.
                     2. The service is user-restricted and the user is not listed.
                     3. The service is IP-restricted and the user IP is not listed.
                     4. The service is time-restricted and the time has expired.
                     5. The token is time-restricted and the time has expired.
                     6. The service requires a specific capability which the user does not have.
                     7. The function is called with username/password (no user token is sent)
                     and none of the services has the function to allow the user.
                     These settings can be found in Administration > Site administration
                     > Server > Web services > External services and Manage tokens."""


class MoodleError(Exception):
    """A Moodle exception: becomes an HTTP 200 error body, never a server crash."""

    def __init__(self, exception_class: str, errorcode: str | None, message: str, debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.exception_class = exception_class
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo

    def __repr__(self) -> str:
        return f"MoodleError({self.exception_class!r}, {self.errorcode!r}, {self.message!r})"


def moodle_error(errorcode: str, message: str, debuginfo: str | None = None) -> MoodleError:
    return MoodleError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


def invalid_parameter(debuginfo: str) -> MoodleError:
    """With debugging off every parameter problem looks the same (INDEX.md)."""
    return MoodleError(INVALID_PARAMETER_EXCEPTION, "invalidparameter", "Invalid parameter value detected", debuginfo)


def missing_record(table: str | None, errorcode: str = "invalidrecord") -> MoodleError:
    if table is None:
        return MoodleError(MISSING_RECORD_EXCEPTION, "invalidrecordunknown", "Can't find data record in database.")
    return MoodleError(MISSING_RECORD_EXCEPTION, errorcode, f"Can't find data record in database table {table}.")


def invalid_user() -> MoodleError:
    return MoodleError(MISSING_RECORD_EXCEPTION, "invaliduser", "Invalid user")


def no_permission(capability_name: str, capability: str = "") -> MoodleError:
    """required_capability_exception carries no debuginfo even with debugging on
    (lp__core_course_create_courses__err_access_denied_debug.json)."""
    del capability  # named at the call site for the reader; Moodle does not send it
    return MoodleError(
        REQUIRED_CAPABILITY_EXCEPTION,
        "nopermissions",
        f"Sorry, but you do not currently have permissions to do that ({capability_name}).",
    )


def access_exception(function: str) -> MoodleError:
    return MoodleError(ACCESS_EXCEPTION, "accessexception", "Access control exception", ACCESS_DEBUGINFO.format(function=function))


def coding_error(detail: str) -> MoodleError:
    return MoodleError(
        CODING_EXCEPTION, "codingerror", f"Coding error detected, it must be fixed by a programmer: {detail}", detail
    )


def dml_write_error(debuginfo: str) -> MoodleError:
    """A failed insert or update (lib/dml/moodle_database.php: dml_write_exception, not namespaced), e.g. two
    requests inserting the same unique row at once; ``debuginfo`` (debugging on) carries the SQL error."""
    return MoodleError(DML_WRITE_EXCEPTION, "dmlwriteexception", "Error writing to database", debuginfo)
