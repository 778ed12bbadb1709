"""File-system calls through Hadoop's FileSystem API, so the same code reads local paths and s3:// on EMR."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


class Storage:
    """Globbing, existence checks and small driver-side writes on any path Spark itself can read."""

    def __init__(self, spark: SparkSession):
        # py4j's view of the JVM (untyped); SparkContext sets it before any session exists.
        self._jvm: Any = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _resolve(self, path: str) -> tuple[Any, Any]:
        """The Hadoop FileSystem and Path of `path` (JVM objects through py4j, untyped)."""
        hadoop_path = self._jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self._conf), hadoop_path

    def exists(self, path: str) -> bool:
        fs, hadoop_path = self._resolve(path)
        return bool(fs.exists(hadoop_path))

    def glob(self, pattern: str, folders_only: bool = False) -> list[str]:
        """Paths matching a Hadoop glob (only folders if asked); empty (not an error) when nothing matches."""
        fs, hadoop_path = self._resolve(pattern)
        statuses = fs.globStatus(hadoop_path)
        return sorted(
            status.getPath().toString() for status in statuses or () if not folders_only or status.isDirectory()
        )

    def delete(self, path: str) -> None:
        fs, hadoop_path = self._resolve(path)
        if fs.exists(hadoop_path):
            fs.delete(hadoop_path, True)

    def write_text(self, path: str, text: str) -> None:
        """Write one small file, replacing it."""
        fs, hadoop_path = self._resolve(path)
        stream = fs.create(hadoop_path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def read_text(self, path: str) -> str:
        fs, hadoop_path = self._resolve(path)
        stream = fs.open(hadoop_path)
        try:
            text: str = self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
            return text
        finally:
            stream.close()

    def move(self, source: str, target: str) -> None:
        """Replace `target` with `source` (a directory)."""
        self.delete(target)
        fs, target_path = self._resolve(target)
        fs.mkdirs(target_path.getParent())
        _, source_path = self._resolve(source)
        if not fs.rename(source_path, target_path):
            raise OSError(f"could not move {source} to {target}")
