"""The daily model-quality job: a precision-recall curve of an endpoint's captured predictions."""
