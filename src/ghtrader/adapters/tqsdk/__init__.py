"""TqSdk (Shinny) adapter: historical download, live ticks and the contract catalog.

The only package that imports ``tqsdk`` (lazily, when a session opens).
"""

from ghtrader.adapters.tqsdk.catalog import TqSdkCatalog
from ghtrader.adapters.tqsdk.live import TqSdkLiveFeed
from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.adapters.tqsdk.provider import TqSdkDataProvider
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession

__all__ = [
    "Pre2020Cache",
    "TqSdkCatalog",
    "TqSdkConfig",
    "TqSdkDataProvider",
    "TqSdkLiveFeed",
    "TqSdkSession",
]
