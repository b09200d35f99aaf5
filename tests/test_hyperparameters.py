"""What "auto" chooses, and how bad hyperparameters are refused."""

from __future__ import annotations

import pytest

from openmaas.errors import InvalidRequest
from openmaas.tuning.hyperparameters import check_requested, resolve


def test_auto_follows_the_data_and_the_model():
    small = resolve({}, examples=16, longest_tokens=60, model_parameters=135_000_000)
    assert (small.batch_size, small.n_epochs, small.learning_rate_multiplier) == (2, 7, 5.0)
    assert small.learning_rate == pytest.approx(1e-3) and small.lora_rank == 16 and small.lora_alpha == 32
    large = resolve({}, examples=4000, longest_tokens=300, model_parameters=7_000_000_000)
    assert (large.batch_size, large.n_epochs, large.learning_rate_multiplier) == (8, 3, 1.0)
    long_examples = resolve({}, examples=4000, longest_tokens=4000, model_parameters=7_000_000_000)
    assert long_examples.batch_size == 2  # 8192 tokens a batch at most
    assert all(reason.startswith(("auto", "default")) for reason in small.reasons.values())


def test_requested_values_win_and_are_recorded_as_requested():
    chosen = resolve(check_requested({"n_epochs": 2, "batch_size": "auto", "learning_rate_multiplier": 0.5,
                                      "lora_rank": 8}), examples=100, longest_tokens=50, model_parameters=None)
    assert (chosen.n_epochs, chosen.batch_size, chosen.learning_rate, chosen.lora_alpha) == (2, 8, 1e-4, 16.0)
    assert chosen.reasons["n_epochs"] == "requested" and chosen.reasons["batch_size"].startswith("auto")


@pytest.mark.parametrize("bad", [{"n_epochs": 0}, {"n_epochs": 1.5}, {"batch_size": "8"}, {"lora_rank": True},
                                 {"learning_rate_multiplier": -1}, {"epochs": 3}])
def test_bad_values_name_the_parameter(bad):
    with pytest.raises(InvalidRequest) as error:
        check_requested(bad)
    assert error.value.param == f"hyperparameters.{next(iter(bad))}"
