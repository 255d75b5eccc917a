"""Every long-running RPC is a job with the lock keys the issue names (and TqSdk slots where due)."""

from __future__ import annotations

from typing import Any

from ghtrader.interfaces.grpc.servicers.data import DataServicer, DataUseCases
from ghtrader.interfaces.grpc.servicers.datasets import DatasetServicer, DatasetUseCases
from ghtrader.interfaces.grpc.servicers.hpo import HpoServicer, HpoUseCases
from ghtrader.interfaces.grpc.servicers.pipeline import PipelineServicer
from ghtrader.interfaces.grpc.servicers.research import ResearchServicer, ResearchUseCases
from ghtrader.v1 import data_pb2, datasets_pb2, hpo_pb2, pipeline_pb2, research_pb2


def _unused() -> Any:
    raise AssertionError("a use case must not be built to name a job's locks")


def _specs() -> dict[str, Any]:
    servicers = (
        DataServicer(DataUseCases(*([_unused] * 9))),
        DatasetServicer(DatasetUseCases(_unused, _unused, _unused)),
        ResearchServicer(ResearchUseCases(_unused, _unused, _unused, _unused, _unused)),
        PipelineServicer(_unused),
        HpoServicer(HpoUseCases(_unused)),
    )
    return {spec.command: spec for s in servicers for spec in s.job_specs()}


def test_every_streaming_rpc_has_a_job_spec_with_a_unique_request_type() -> None:
    specs = _specs()
    streaming = {
        m.name
        for fd in (data_pb2, datasets_pb2, research_pb2, pipeline_pb2, hpo_pb2)
        for service in fd.DESCRIPTOR.services_by_name.values()
        for m in service.methods
        if m.output_type.full_name == "ghtrader.v1.RunEvent"
    }
    assert streaming == set(specs)
    assert len({s.type_name for s in specs.values()}) == len(specs)


def test_lock_keys_and_tqsdk_slots_per_command() -> None:
    s = _specs()
    assert s["Download"].locks(data_pb2.DownloadRequest(symbol="SHFE.cu2612")) == ("ticks:symbol=SHFE.cu2612",)
    record = data_pb2.RecordRequest(symbols=["SHFE.cu2701", "SHFE.au2612", "SHFE.cu2701"])
    assert s["Record"].locks(record) == ("ticks:symbol=SHFE.au2612", "ticks:symbol=SHFE.cu2701")
    assert s["Record"].until_cancelled(record) and not s["Record"].until_cancelled(
        data_pb2.RecordRequest(symbols=["SHFE.cu2701"], duration_s=5)
    )
    for name, request in (
        ("DownloadContractRange", data_pb2.DownloadContractRangeRequest(variety="SHFE.cu")),
        ("Update", data_pb2.UpdateRequest(variety="SHFE.cu")),
        ("FillMissing", data_pb2.FillMissingRequest(variety="SHFE.cu")),
    ):
        assert s[name].locks(request) == ("ticks_range:exchange=SHFE,var=cu",)
    assert s["BuildMainSchedule"].locks(datasets_pb2.BuildMainScheduleRequest(variety="SHFE.au")) == (
        "main_schedule:var=SHFE.au",
    )
    assert s["BuildMainL5"].locks(datasets_pb2.BuildMainL5Request(variety="SHFE.au")) == (
        "main_schedule:var=SHFE.au",
        "main_l5:symbol=KQ.m@SHFE.au",
    )
    assert s["BuildDataset"].locks(datasets_pb2.BuildDatasetRequest(symbol="KQ.m@SHFE.cu")) == (
        "build:symbol=KQ.m@SHFE.cu,ticks_lake=main_l5",
    )
    assert s["BuildDataset"].locks(datasets_pb2.BuildDatasetRequest(symbol="SHFE.cu2612")) == (
        "build:symbol=SHFE.cu2612,ticks_lake=raw",
    )
    train = research_pb2.TrainRequest(family="lightgbm", scope=research_pb2.ResearchScope(horizon=50))
    assert s["Train"].locks(train) == ("train:symbol=KQ.m@SHFE.cu,model=lightgbm,h=50",)
    assert s["Train"].locks(research_pb2.TrainRequest(family="logistic", model_id="m1")) == (
        "train:symbol=KQ.m@SHFE.cu,model=m1,h=10",
    )
    hpo = hpo_pb2.RunHpoRequest(family="lightgbm", scope=research_pb2.ResearchScope(horizon=50))
    assert s["RunHpo"].locks(hpo) == ("hpo:study=hpo_lightgbm_KQ.m_SHFE.cu_h50",)
    assert s["RunHpo"].locks(hpo_pb2.RunHpoRequest(family="x", study="mine")) == ("hpo:study=mine",)
    tqsdk = {name for name, spec in s.items() if spec.tqsdk}
    assert tqsdk == {"Download", "DownloadContractRange", "Update", "Record", "FillMissing", "RunPipeline"}
    assert (
        s["Verify"].locks(data_pb2.VerifyRequest()) == ()
        and s["Benchmark"].locks(research_pb2.BenchmarkRequest()) == ()
    )
