"""Reading images: DICOM files, folders and zip archives into `ImageSeries`."""

from imgqa.io.dicom import Problem, SeriesList, load, load_report
from imgqa.io.series import Equipment, Frame, Geometry, HeaderSummary, ImageSeries

__all__ = ["Equipment", "Frame", "Geometry", "HeaderSummary", "ImageSeries", "Problem",
           "SeriesList", "load", "load_report"]
