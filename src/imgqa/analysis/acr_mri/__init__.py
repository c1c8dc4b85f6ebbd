"""Kernels for the ACR large MRI phantom battery.

One small module per test of the ACR MRI accreditation phantom guidance (ACR, *Phantom Test
Guidance for Use of the Large MRI Phantom for the ACR MRI Accreditation Program*, 2018):
`localisation` (phantom disk, slice order, in-plane rotation), `geometry`, `slice_thickness`,
`slice_position`, `resolution`, `piu`, `ghosting`, `low_contrast` and `snr_single`.

All kernels are pure numpy/scipy functions: images in, pixel spacing in mm, frozen dataclasses
out. They work in the *phantom frame*: image coordinates (row, col) after the in-plane rotation
found by `localisation.find_rotation` has been removed with `localisation.derotate`.
"""

from imgqa.analysis.acr_mri.localisation import (
    PhantomDisk,
    derotate,
    find_phantom,
    find_rotation,
    find_slice_one,
    to_image_coords,
)

__all__ = ["PhantomDisk", "derotate", "find_phantom", "find_rotation", "find_slice_one",
           "to_image_coords"]
