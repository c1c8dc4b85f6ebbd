"""Reference edge MTF with dicom-image-tools (run in .venv-ref); prints JSON.

Usage: xray_ref.py FILE ROW COL SIZE_PX [REPEATS]

dicom-image-tools 25 (BwKodex/dicomimagetools, MIT) is the maintained Python package whose
test data include the intra-oral edges; pylinac 3.49 has no slanted-edge analysis
(its EdgeSpreadFunctionMTF only transforms ESFs it is given). `mtf_edge_phantom` needs a
square ROI containing the edge (user input in that package): it is centred on (ROW, COL) with
SIZE_PX pixels. It crashes on edges of one polarity (a tuple/int comparison bug); those
are retried with the values inverted (max − value), which leaves the MTF unchanged. Its MTF comes with an index frequency axis ("cycles/pixel" per its docstring);
we convert index k to lp/mm as k / (x-range of its ESF samples · pixel), its samples spanning
|x| < 20 pixels. Time = read file + analysis, median of repeats.
"""

import json
import statistics
import sys
import time

import numpy as np
import pydicom
from dicom_image_tools.helpers.point import Point
from dicom_image_tools.helpers.voxel_data import VoxelData
from dicom_image_tools.image_quality.mtf import mtf_edge_phantom
from dicom_image_tools.roi.square_roi import SquareRoi


def main() -> None:
    path, row, col, size = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    times, result, spacing, err, inverted = [], None, None, None, False
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds = pydicom.dcmread(path)
        img = ds.pixel_array.astype(np.float64)
        sp = [float(v) for v in (ds.get("ImagerPixelSpacing") or ds.get("PixelSpacing"))]
        roi = SquareRoi(center=Point(x=col, y=row), height=size, width=size,
                        pixel_size=VoxelData(x=sp[1], y=sp[0]), roi_size_in_pixels=True)
        try:
            try:
                result = mtf_edge_phantom(img, roi)
            except TypeError:
                # dicom-image-tools 25 fails ("'>' not supported between 'tuple' and 'int'")
                # when the edge already rises along its x axis; the MTF is invariant to
                # inverting the values, so retry with the polarity flipped
                result = mtf_edge_phantom(img.max() - img, roi)
                inverted = True
        except Exception as exc:  # report, do not crash the benchmark
            err = f"{type(exc).__name__}: {exc}"
        times.append(time.perf_counter() - t0)
        spacing = sp
    out = {"seconds": statistics.median(times), "error": err, "inverted": inverted}
    if result is not None:
        mtf = np.asarray(result.mtf, dtype=float)
        k = np.arange(mtf.size, dtype=float)
        f = k / (40.0 * spacing[1])          # |x| < 20 px sample range → 40 px
        below = np.nonzero(mtf < 0.5)[0]
        mtf50 = None
        if below.size and below[0] > 0:
            i = below[0]
            mtf50 = float(f[i - 1] + (mtf[i - 1] - 0.5) * (f[i] - f[i - 1]) / (mtf[i - 1] - mtf[i]))
        out.update(mtf50_lp_per_mm=mtf50, mtf_at_index_1=float(mtf[1]) if mtf.size > 1 else None,
                   n=int(mtf.size))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
