"""Every error imgqa shows to a user.

Each exception says what is wrong in words a QC technologist understands, names the file (and
the DICOM element by tag and keyword where one is involved), and carries a ``hint`` saying what to
do next. Code that catches ``ImgqaError`` can show ``str(exc)`` and ``exc.hint`` as they are.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ImgqaError",
    "NotDicomError",
    "CorruptDicomError",
    "NoPixelDataError",
    "UnsupportedTransferSyntaxError",
    "PixelDecodeError",
    "CorruptArchiveError",
    "UnsafeArchiveError",
    "UnreadableInputError",
    "MissingSpacingError",
    "MissingTagError",
    "EmptyInputError",
    "WrongModalityError",
    "UsageError",
    "ProtocolError",
    "UnknownProtocolError",
    "ParameterError",
    "AnalysisError",
    "PhantomNotFoundError",
    "StoreError",
    "StorePermissionError",
    "ToleranceError",
    "ExportError",
    "ImplausibleGeometryError",
    "InternalAnalysisError",
    "NotificationError",
]


class ImgqaError(Exception):
    """Base of every error shown to a user; ``hint`` says what to do next.

    Parameters
    ----------
    message : str
        What went wrong, naming the file or series concerned.
    hint : str, optional
        What the user can do about it.
    path : str or Path, optional
        The file the problem concerns, if any (kept for problem lists).

    Attributes
    ----------
    protocol : str or None
        The QC test that raised it, filled in by `imgqa.protocols.run_protocol`.
    """

    default_hint = ""
    protocol: str | None = None

    def __init__(self, message: str, *, hint: str = "", path: str | Path | None = None) -> None:
        super().__init__(message)
        self.hint = hint or self.default_hint
        self.path = str(path) if path is not None else None

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def full_message(self) -> str:
        """The message followed by the hint, for one-line displays."""
        return f"{self.message} {self.hint}".strip()


class NotDicomError(ImgqaError, ValueError):
    """The file is not a DICOM file (e.g. a PNG or JPEG photo, a text file)."""

    default_hint = "Only DICOM images (.dcm, .ima or files without extension) can be analysed."


class CorruptDicomError(ImgqaError, ValueError):
    """The file starts like DICOM but cannot be read: truncated or damaged."""

    default_hint = "Copy the image again from the scanner or PACS; the file may be incomplete."


class NoPixelDataError(ImgqaError, ValueError):
    """The DICOM file holds no image: (7FE0,0010) Pixel Data is absent (a report, a DICOMDIR...)."""

    default_hint = "Export the images themselves, not reports or dose summaries."


class UnsupportedTransferSyntaxError(ImgqaError, NotImplementedError):
    """The pixel data is compressed in a way imgqa cannot decode."""

    default_hint = ("Ask the scanner or PACS to send the images uncompressed "
                    "(Explicit VR Little Endian).")


class PixelDecodeError(ImgqaError, ValueError):
    """The pixel data is present but could not be decoded (damaged or inconsistent)."""

    default_hint = "Copy the image again from the scanner or PACS; the file may be damaged."


class CorruptArchiveError(CorruptDicomError):
    """A zip archive is damaged (bad CRC, truncated or missing central directory)."""

    default_hint = "Make or copy the archive again; it was probably cut short or damaged."


class UnsafeArchiveError(ImgqaError, ValueError):
    """A zip member is refused because unpacking it would be unreasonably large (a zip bomb):
    larger than a QC image can be, or compressed far more than image data compresses."""

    default_hint = ("Ask the sender for a new copy of the images; if the archive is genuine, check "
                    "its unpacked size, unpack it yourself and load the folder.")


class UnreadableInputError(ImgqaError, OSError):
    """A path cannot be read: a folder without read permission, or something that is not a
    regular file (a named pipe, a device, a socket)."""

    default_hint = "Check that your account may read it, or copy the images to a local folder."


class MissingTagError(ImgqaError, KeyError):
    """A DICOM element needed for the measurement is absent."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class MissingSpacingError(MissingTagError):
    """The image has no pixel spacing, so sizes cannot be given in mm."""

    default_hint = "Enter the pixel size (parameter pixel_spacing_mm) or choose a phantom preset."


class EmptyInputError(ImgqaError, ValueError):
    """Nothing usable was found at the given paths (empty folder, only bad files)."""

    default_hint = "Check the folder: it should contain the phantom's DICOM images."


class WrongModalityError(ImgqaError, ValueError):
    """The images are of a modality the chosen test does not accept."""

    default_hint = "Pick a test for this modality, or let imgqa choose one."


class UsageError(ImgqaError):
    """The command was given wrongly: an unknown test name, a malformed or unknown ``--param``.

    The CLI exits 2 for these (docs/cli.md: usage errors), as argparse does for its own.
    """


class ProtocolError(ImgqaError):
    """Base for problems with choosing or configuring a QC protocol."""


class UnknownProtocolError(ProtocolError, UsageError, KeyError):
    """No protocol with that name is registered."""

    default_hint = "Run `imgqa protocols` to see the available tests."

    def __str__(self) -> str:
        return self.message


class ParameterError(ProtocolError, ValueError):
    """A protocol parameter is unknown or has a value of the wrong type or range."""


class AnalysisError(ImgqaError, RuntimeError):
    """The analysis could not produce a trustworthy number from these images."""


class PhantomNotFoundError(AnalysisError):
    """The expected phantom (or part of it) could not be found in the images."""

    default_hint = "Check that the images show the phantom this test expects, centred in the field."


class StoreError(ImgqaError, RuntimeError):
    """The results database cannot be used (locked, missing, read-only, wrong version)."""


class StorePermissionError(StoreError, PermissionError):
    """The current user's role may not do this (e.g. a technologist changing a tolerance)."""

    default_hint = "Ask a physicist (or an administrator) to do it."


class ToleranceError(ImgqaError, ValueError):
    """A tolerance or reference is invalid (levels out of order, percent on a zero reference)."""


class ExportError(ImgqaError, RuntimeError):
    """QA records cannot be exported: nothing matches the filters, or the file cannot be
    written (unknown format, folder missing, file open in another program)."""


class ImplausibleGeometryError(ImgqaError, ValueError):
    """The image geometry cannot be true (e.g. 20 mm CT pixels): refused before any analysis.

    A wrong header would give numbers in wrong units (or none at all), so nothing is measured.
    """

    default_hint = ("Check the DICOM header (Pixel Spacing) or give the true pixel size "
                    "(parameter pixel_spacing_mm).")


class InternalAnalysisError(ImgqaError, RuntimeError):
    """An analysis stopped on a condition its code did not foresee (images far from what the
    test expects, or a defect in imgqa). The original exception is chained and logged at DEBUG
    level; only this plain message is shown."""

    default_hint = ("Check that the images are the phantom this test expects. If they are, "
                    "run the command again with -v (details on the console) and report it.")


class NotificationError(ImgqaError, RuntimeError):
    """An e-mail notification cannot be sent, or its settings are incomplete or unreadable
    (SMTP server unreachable, refused login, no recipient). Never stops the QC service: the
    session it is about is saved whatever happens to the e-mail."""

    default_hint = ("Check the notification settings (`imgqa notify show`; File → Settings… → "
                    "Notifications) and send a test message with `imgqa notify test`.")
