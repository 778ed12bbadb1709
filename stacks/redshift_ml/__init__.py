"""Redshift ML in-database recommender: train with CREATE MODEL, score inside the warehouse."""

from .recommender import RedshiftMlRecommender

__all__ = ["RedshiftMlRecommender"]
