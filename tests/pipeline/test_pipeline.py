"""The database-free pipeline: Submission, its stages, the limits and the error table."""

from __future__ import annotations

import dataclasses

import pytest

import kpanic.classify
import kpanic.report
from kpanic.errors import InputTooLarge, KpanicError, PayloadError
from kpanic.pipeline import stages
from kpanic.pipeline.errors import STATUS_TABLE, NoCrashFound, http_status
from kpanic.pipeline.limits import Limits
from kpanic.pipeline.submission import Origin, Submission, valid_text
from tests.web.conftest import demo_log, kmsg_urls

LIMITS = Limits.from_settings()


def test_a_submission_is_frozen_and_checked() -> None:
    sub = Submission("log", "x", Origin(via="api"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.data = "y"  # type: ignore[misc]
    with pytest.raises(ValueError):
        Submission("pdf", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Submission("photo", "not bytes")
    assert Submission("photo", b"\x89PNG").queue == "photo"
    assert Submission("url", "https://h/r").queue == "text"


def test_raw_hash_tells_kinds_and_inputs_apart() -> None:
    a = Submission("log", "same").raw_hash()
    assert a == Submission("log", "same", Origin(via="web")).raw_hash()  # origin is not input
    assert a != Submission("url", "same").raw_hash()
    assert a != Submission("log", "other").raw_hash()
    assert Submission("url", " u ").raw_hash() == Submission("url", "u").raw_hash()


def test_lone_surrogates_are_replaced_once_and_consistently() -> None:
    assert valid_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert valid_text("plain") == "plain"
    assert Submission("log", "x\udc80").data == "x\ufffd"
    "x\udc80y".encode("utf-16", "surrogatepass")  # the input really was invalid
    assert valid_text("x\udc80y").encode("utf-8")  # and is valid now


def test_stages_decode_then_analyse_a_url_and_a_log() -> None:
    v = kmsg_urls("fido2")[0]
    decoded = stages.decode(Submission("url", v["url"]), LIMITS)
    assert decoded.kind == "url" and decoded.kmsg.strip() == v["plaintext"].strip()
    log = stages.prepare(Submission("log", demo_log(428)), LIMITS)
    assert log.title and log.signature
    assert log.parser_version == kpanic.report.PARSER_VERSION
    assert log.classifier_version == kpanic.classify.CLASSIFIER_VERSION


def test_each_content_limit_is_checked_by_the_stage_under_its_name() -> None:
    tight = dataclasses.replace(LIMITS, max_url_chars=10, max_log_bytes=10, max_photo_bytes=10)
    with pytest.raises(InputTooLarge, match="limit is 10"):
        stages.decode(Submission("url", "https://h/report?z=" + "1" * 20), tight)
    with pytest.raises(InputTooLarge, match="limit is 10"):
        stages.decode(Submission("log", "x" * 11), tight)
    with pytest.raises(InputTooLarge, match="limit is 10"):
        stages.decode(Submission("photo", b"x" * 11), tight)
    v = kmsg_urls("fido2")[0]
    with pytest.raises(InputTooLarge):
        stages.decode(Submission("url", v["url"]), dataclasses.replace(LIMITS, max_kmsg_bytes=10))


def test_errors_map_to_one_http_status_each() -> None:
    assert http_status(InputTooLarge("big"))[0] == 413
    assert http_status(PayloadError("bad"))[0] == 422
    assert http_status(NoCrashFound("none")) == (422, "none")
    assert http_status(KpanicError("other"))[0] == 400
    assert http_status(RuntimeError("bug"))[0] == 422  # never a 500 for an input
    assert all(reason for *_, reason in STATUS_TABLE)  # every entry says why
    with pytest.raises(NoCrashFound):
        stages.prepare(Submission("log", "no crash here\n"), LIMITS)
