"""The kinds of input a technologist may hand imgqa, and how each is read or rejected."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

import imgqa
from imgqa.errors import MissingSpacingError
from imgqa.io.dicom import Source, read_header
from imgqa.phantoms.writer import write_series


def _ramp_stack(n: int = 5, size: int = 16) -> np.ndarray:
    """Slice k is filled with 100*k so the order of a loaded stack is visible in its values."""
    return np.stack([np.full((size, size), 100.0 * k) for k in range(n)])


def _only(series_list):
    assert not series_list.problems, series_list.problems
    assert len(series_list) == 1
    return series_list[0]


# ---------------------------------------------------------------- slice order ------------------
def test_slices_ordered_by_position_not_name_or_instance_number(tmp_path):
    paths = write_series(_ramp_stack(6), tmp_path / "src", modality="CT", description="ramp",
                         pixel_spacing_mm=0.5, slice_thickness_mm=2.0, rescale_intercept=-1024)
    rng = random.Random(3)
    names = [f"{rng.randrange(10**6):06d}.dcm" for _ in paths]
    numbers = list(range(1, len(paths) + 1))
    rng.shuffle(numbers)
    out = tmp_path / "shuffled"
    out.mkdir()
    for p, name, number in zip(paths, names, numbers):
        ds = pydicom.dcmread(p)
        ds.InstanceNumber = number
        ds.save_as(out / name)
    s = _only(imgqa.load(out))
    z = [f.position[2] for f in s.frames]
    assert z == sorted(z)
    means = [float(s.pixels(i).mean()) for i in range(len(s))]
    assert means == pytest.approx([100.0 * k for k in range(6)])
    assert s.geometry.slice_spacing_mm == pytest.approx(2.0)


def test_non_axial_orientation_sorted_along_its_normal(tmp_path):
    """Oblique sagittal-ish slices: position moves along the normal with x decreasing."""
    paths = write_series(_ramp_stack(5), tmp_path / "src", modality="MR", description="obl",
                         pixel_spacing_mm=1.0, slice_thickness_mm=3.0)
    a = np.deg2rad(20)
    row = np.array([0.0, np.cos(a), np.sin(a)])
    col = np.array([0.0, -np.sin(a), np.cos(a)])
    normal = np.cross(row, col)  # = -x
    out = tmp_path / "oblique"
    out.mkdir()
    order = [3, 0, 4, 1, 2]
    for name_index, k in enumerate(order):
        ds = pydicom.dcmread(paths[k])
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in np.concatenate([row, col])]
        pos = np.array([5.0, -7.0, 11.0]) + 3.0 * k * normal
        ds.ImagePositionPatient = [f"{v:.4f}" for v in pos]
        ds.InstanceNumber = 10 - name_index  # misleading on purpose
        ds.save_as(out / f"a{name_index}.dcm")
    s = _only(imgqa.load(out))
    assert np.allclose(s.geometry.normal, normal, atol=1e-5)
    means = [float(s.pixels(i).mean()) for i in range(len(s))]
    assert means == pytest.approx([100.0 * k for k in range(5)])
    assert s.geometry.slice_spacing_mm == pytest.approx(3.0, abs=1e-3)


def test_series_split_when_geometry_differs(tmp_path):
    paths = write_series(_ramp_stack(4), tmp_path, modality="CT", description="x",
                         pixel_spacing_mm=0.5, rescale_intercept=-1024)
    ds = pydicom.dcmread(paths[0])
    ds.PixelSpacing = ["0.7", "0.7"]
    ds.save_as(paths[0])
    loaded = imgqa.load(tmp_path)
    assert sorted(len(s) for s in loaded) == [1, 3]


# ---------------------------------------------------------------- containers -------------------
def test_zip_archive_of_a_folder(tmp_path):
    write_series(_ramp_stack(3), tmp_path / "series", modality="CT", description="zipped",
                 pixel_spacing_mm=0.5, rescale_intercept=-1024)
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((tmp_path / "series").iterdir()):
            zf.write(p, f"export/series/{p.name}")
    s = _only(imgqa.load(archive))
    assert len(s) == 3 and all("::" in src for src in s.sources)
    assert [float(s.pixels(i).mean()) for i in range(3)] == pytest.approx([0, 100, 200])
    assert len(s.identities()) == 3


def test_file_without_preamble_or_meta_is_read_with_force_and_flagged(tmp_path):
    (p,) = write_series(_ramp_stack(1) + 7, tmp_path, modality="NM", description="flood",
                        pixel_spacing_mm=2.0)
    ds = pydicom.dcmread(p)
    bare = tmp_path / "bare.dcm"
    # No preamble, no 'DICM', no group 0002: just the dataset, implicit VR little endian.
    with open(bare, "wb") as fh:
        out = DicomFileLike(fh)
        out.is_little_endian, out.is_implicit_VR = True, True
        del ds.file_meta
        write_dataset(out, ds)
    raw = bare.read_bytes()
    assert raw[128:132] != b"DICM" and raw[:2] == b"\x08\x00"
    s = _only(imgqa.load(bare))
    assert any("without DICOM file meta" in f for f in s.flags)
    assert float(s.pixels(0).mean()) == pytest.approx(7.0)


def test_dicomdir_is_skipped_not_crashed_on(tmp_path):
    from pydicom.fileset import FileSet

    paths = write_series(_ramp_stack(2), tmp_path / "src", modality="CT", description="x",
                         pixel_spacing_mm=0.5, rescale_intercept=-1024)
    fs = FileSet()
    for p in paths:
        fs.add(pydicom.dcmread(p))
    fs.write(tmp_path / "media")
    assert (tmp_path / "media" / "DICOMDIR").exists()
    loaded = imgqa.load(tmp_path / "media")
    assert not loaded.problems
    assert len(loaded) == 1 and len(loaded[0]) == 2
    assert any("DICOMDIR" in s for s in loaded.skipped)


def test_empty_folder_and_missing_path_are_clear_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    loaded = imgqa.load([tmp_path / "empty", tmp_path / "nope"])
    assert len(loaded) == 0
    kinds = {p.kind for p in loaded.problems}
    assert kinds == {"EmptyInputError"}
    text = " ".join(p.error for p in loaded.problems)
    assert "contains no files" in text and "does not exist" in text


# ---------------------------------------------------------------- values and spacing -----------
def test_monochrome1_values_stay_physical_and_display_inverts(tmp_path):
    img = np.tile(np.arange(32, dtype=float) * 10, (32, 1))
    (p,) = write_series(img, tmp_path, modality="DX", description="m1", pixel_spacing_mm=0.1,
                        spacing_tag="ImagerPixelSpacing")
    ds = pydicom.dcmread(p)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(p)
    s = _only(imgqa.load(p))
    assert s.header.invert_for_display is True
    np.testing.assert_array_equal(s.pixels(0), img.astype(np.float32))


def test_imager_pixel_spacing_divided_by_magnification(tmp_path):
    (p,) = write_series(np.zeros((8, 8)), tmp_path, modality="DX", description="mag",
                        pixel_spacing_mm=0.15, spacing_tag="ImagerPixelSpacing",
                        extra_tags={"EstimatedRadiographicMagnificationFactor": "1.2"})
    s = _only(imgqa.load(p))
    assert s.pixel_spacing_mm == pytest.approx((0.125, 0.125))
    assert s.geometry.detector_spacing_mm == pytest.approx((0.15, 0.15))
    assert s.geometry.spacing_source == \
        "ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor"


def test_pixel_spacing_wins_over_imager_spacing(tmp_path):
    (p,) = write_series(np.zeros((8, 8)), tmp_path, modality="CR", description="both",
                        pixel_spacing_mm=0.2, extra_tags={"ImagerPixelSpacing": ["0.1", "0.1"]})
    s = _only(imgqa.load(p))
    assert s.pixel_spacing_mm == pytest.approx((0.2, 0.2))
    assert s.geometry.detector_spacing_mm == pytest.approx((0.1, 0.1))


def test_per_frame_rescale_from_functional_groups(tmp_path):
    frames = np.stack([np.full((8, 8), 50.0), np.full((8, 8), 50.0), np.full((8, 8), 50.0)])
    (p,) = write_series(frames, tmp_path, modality="NM", description="mf",
                        pixel_spacing_mm=4.0, multiframe=True)
    ds = pydicom.dcmread(p)
    groups = []
    for k in range(3):
        pvt = Dataset()
        pvt.RescaleSlope, pvt.RescaleIntercept = f"{k + 1}", f"{-10 * k}"
        item = Dataset()
        item.PixelValueTransformationSequence = Sequence([pvt])
        groups.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    ds.save_as(p)
    s = _only(imgqa.load(p))
    got = [float(s.pixels(i).mean()) for i in range(3)]
    assert got == pytest.approx([50 * (k + 1) - 10 * k for k in range(3)])
    assert [f.metadata.detector for f in s.frames] == [1, 2, 3]
    # the transitional dict-style read gives the same
    assert [f.metadata.get("detector") for f in s.frames] == [1, 2, 3]
    assert s.frames[0].metadata.get("no_such_fact", "x") == "x"


def test_rgb_image_is_read_as_grey_level(tmp_path):
    (p,) = write_series(np.zeros((4, 6)), tmp_path, modality="DX", description="rgb",
                        pixel_spacing_mm=0.1)
    ds = pydicom.dcmread(p)
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = rgb.tobytes()
    ds.save_as(p)
    s = _only(imgqa.load(p))
    luma = 0.299 * 200 + 0.587 * 100 + 0.114 * 50
    np.testing.assert_allclose(s.pixels(0), np.full((4, 6), luma), rtol=1e-5)


# ---------------------------------------------------------------- rejections -------------------
def _one_ct(tmp_path) -> Path:
    (p,) = write_series(np.full((16, 16), 40.0), tmp_path / "one", modality="CT",
                        description="x", pixel_spacing_mm=0.5, rescale_intercept=-1024)
    return p


def _problem(path: Path):
    loaded = imgqa.load(path)
    assert len(loaded) == 0 and len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert path.name in problem.error and problem.hint
    assert "Traceback" not in problem.error
    return problem


def test_unknown_transfer_syntax_is_unsupported(tmp_path):
    p = _one_ct(tmp_path)
    ds = pydicom.dcmread(p)
    ds.file_meta.TransferSyntaxUID = "1.2.826.0.1.3680043.2.1143.999.1"  # invented
    ds.save_as(p, enforce_file_format=True)
    problem = _problem(p)
    assert problem.kind == "UnsupportedTransferSyntaxError"
    assert "transfer syntax" in problem.error and "cannot decode" in problem.error


def test_12bit_jpeg_extended_is_unsupported_with_a_reason():
    from pydicom.data import get_testdata_file

    problem = _problem(Path(get_testdata_file("JPEG-lossy.dcm")))
    assert problem.kind == "UnsupportedTransferSyntaxError" and "JPEG Extended" in problem.error


@pytest.mark.parametrize("keep", [0.6, 0.999, 0.3])
def test_truncated_files_are_corrupt(tmp_path, keep):
    p = _one_ct(tmp_path)
    data = p.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: int(len(data) * keep)])
    problem = _problem(cut)
    assert problem.kind == "CorruptDicomError" and "truncated" in problem.error


def test_file_without_pixel_data(tmp_path):
    p = _one_ct(tmp_path)
    ds = pydicom.dcmread(p)
    del ds.PixelData
    ds.save_as(p)
    problem = _problem(p)
    assert problem.kind == "NoPixelDataError" and "Pixel Data" in problem.error


def test_read_header_raises_specific_errors(tmp_path):
    junk = tmp_path / "notes.bin"
    junk.write_bytes(b"hello, this is not an image at all" * 10)
    with pytest.raises(imgqa.errors.NotDicomError, match="notes.bin"):
        read_header(Source(str(junk), junk))


def test_spacing_refused_when_unknown(tmp_path):
    (p,) = write_series(np.zeros((8, 8)), tmp_path, modality="DX", description="nosp",
                        pixel_spacing_mm=None)
    s = _only(imgqa.load(p))
    with pytest.raises(MissingSpacingError, match="no pixel spacing"):
        s.require_spacing()


# ---------------------------------------------------------------- threads ----------------------
def test_decoding_from_worker_threads_gives_the_same_images(tmp_path):
    """The GUI decodes from worker threads: concurrent decodes of one series agree."""
    from concurrent.futures import ThreadPoolExecutor

    from pydicom.data import get_testdata_file

    write_series(_ramp_stack(8, 32), tmp_path / "ct", modality="CT", description="t",
                 pixel_spacing_mm=0.5, rescale_intercept=-1024)
    plain = _only(imgqa.load(tmp_path / "ct"))
    rle = _only(imgqa.load(get_testdata_file("SC_rgb_rle_16bit_2frame.dcm")))
    jobs = [(s, i) for s in (plain, rle) for i in range(len(s))] * 8
    expected = {(id(s), i): s.raw(i).copy() for s, i in jobs}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: (job, job[0].raw(job[1]), job[0].pixel_sha256(job[1])),
                                jobs))
    for (s, i), arr, digest in results:
        np.testing.assert_array_equal(arr, expected[(id(s), i)])
        assert digest == s.pixel_sha256(i)
