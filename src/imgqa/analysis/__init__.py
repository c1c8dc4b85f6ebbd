"""Pure numpy kernels for QC measurements. No Qt, no database, no DICOM: arrays and mm in,
small frozen dataclasses out."""
