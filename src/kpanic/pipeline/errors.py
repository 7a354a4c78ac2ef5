"""What each processing failure tells the client: one table, used by the web app (as HTTP
answers) and by the workers (stored with a rejected submission, shown by its status URL)."""

from __future__ import annotations

from kpanic.errors import InputTooLarge, KpanicError, PayloadError, PhotoDecodeError


class NoCrashFound(KpanicError):
    """The input decoded fine but holds no kernel crash report."""


class ProcessingLimit(KpanicError):
    """Processing one input went over its time or CPU budget."""


# (exception class, HTTP status, message prefix, why): the first matching entry wins.
STATUS_TABLE: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (InputTooLarge, 413, "", "over a size limit: the client must send less"),
    (PhotoDecodeError, 422, "the photo could not be read: ", "no readable panic QR code"),
    (PayloadError, 422, "the panic URL could not be decoded: ", "damaged or not a panic URL"),
    (NoCrashFound, 422, "", "well-formed input without a kernel crash"),
    (ProcessingLimit, 422, "", "adversarial or pathological input: over its budget"),
    (KpanicError, 400, "", "any other input problem the code names"),
)


def http_status(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and message of a processing failure (422 for unknown ones: an input
    that made the code fail is still the input's problem to the client)."""
    for cls, status, prefix, _why in STATUS_TABLE:
        if isinstance(exc, cls):
            if isinstance(exc, PhotoDecodeError):
                from kpanic.qr.image.advice import advice_text  # what the person can do

                why = str(exc).rstrip(".")
                return status, (
                    f"the photo could not be read ({exc.reason}): {why}. " + advice_text(exc.reason)
                )
            return status, f"{prefix}{exc}"
    return 422, f"this input could not be processed ({type(exc).__name__})"
