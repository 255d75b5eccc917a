"""CSV replay provider: a directory of TqSdk DataDownloader or plain tick CSV files."""

from ghtrader.adapters.csv.provider import CsvDataProvider

__all__ = ["CsvDataProvider"]
