"""TqSdk (Shinny) adapter: historical download, live ticks, the contract catalog and executors.

The only package that imports ``tqsdk`` (lazily, when a session opens).
"""

from ghtrader.adapters.tqsdk.account import TqAccountSpec
from ghtrader.adapters.tqsdk.catalog import TqSdkCatalog
from ghtrader.adapters.tqsdk.execution import SharedTqApi, TqSdkDirectExecution, TqSdkTargetPosExecution
from ghtrader.adapters.tqsdk.live import TqSdkLiveFeed
from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.adapters.tqsdk.provider import TqSdkDataProvider
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession

__all__ = [
    "Pre2020Cache",
    "SharedTqApi",
    "TqAccountSpec",
    "TqSdkCatalog",
    "TqSdkConfig",
    "TqSdkDataProvider",
    "TqSdkDirectExecution",
    "TqSdkLiveFeed",
    "TqSdkSession",
    "TqSdkTargetPosExecution",
]
