"""What a person can do when a photo of a panic QR code could not be read.

Each reason a photo fails (``PhotoDecodeError.reason``) gets a plain explanation and tips the
person can act on with the phone in their hand. Shared by the web service (shown with the error)
and the command line.
"""

from __future__ import annotations

# Tips, each with the failure it addresses.
CLOSER = "Hold the phone closer, so that the code fills most of the picture."  # too small
WHOLE = "Keep the whole code in the picture, with a little of the black border around it."
# glare wipes out modules
REFLECTIONS = "Avoid reflections of lamps and windows on the screen: tilt the phone a little."
STILL = "Hold still, and tap the code on your phone's screen to focus before you shoot."  # blur
NO_FLASH = "Turn off the flash: it makes a bright spot on the screen."  # flash glare
STRAIGHT = "Shoot straight at the screen, not at an angle."  # perspective
CAMERA_FILE = "Send the photo file from the camera (JPEG, PNG or HEIC), not a screenshot or PDF."
SMALLER = "Send the photo in the camera's normal size, or crop it around the code."

# reason -> (what went wrong, the tips that address it, most likely first)
ADVICE: dict[str, tuple[str, tuple[str, ...]]] = {
    "no-code-found": (
        "No QR code was found in the photo.",
        (CLOSER, WHOLE, STILL, REFLECTIONS, NO_FLASH),
    ),
    "too-damaged": (
        "A QR code was found, but too much of it could not be read.",
        (CLOSER, REFLECTIONS, NO_FLASH, STILL, STRAIGHT),
    ),
    "checksum-failed": (
        "The code was read, but its data did not check out (parts were misread).",
        (STILL, REFLECTIONS, NO_FLASH, STRAIGHT),
    ),
    "not-an-image": ("The file is not a photo kpanic can open.", (CAMERA_FILE,)),
    "too-large": ("The photo is too large to decode safely.", (SMALLER,)),
}


def photo_advice(reason: str) -> tuple[str, tuple[str, ...]]:
    """(what went wrong, tips) for a ``PhotoDecodeError`` reason."""
    return ADVICE.get(reason, ("The photo could not be read.", (CLOSER, STILL, NO_FLASH)))


def advice_text(reason: str) -> str:
    """The advice as one paragraph: 'What went wrong. Try this: tip tip tip'."""
    why, tips = photo_advice(reason)
    return f"{why} Try this: " + " ".join(tips)
