"""The named random streams keep the seeds the run has always used, and the models' seeds never meet them."""

import pytest

from bmelearn.runs.seeds import Stream, derive_seed, model_seed

#: The keys the streams were drawn with before they had names: their numbers must not move.
KEYS_BEFORE_NAMES = {Stream.EVALUATION: 5, Stream.SUMMARY: 6, Stream.PERTURBATION: 7, Stream.CONTROL: 8,
                     Stream.CONTROL_SUMMARY: 9, Stream.LEARNING_CURVE: 10, Stream.TRANSFER: 11}


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_named_streams_keep_the_seeds_of_their_old_keys(seed):
    for stream, key in KEYS_BEFORE_NAMES.items():
        assert stream.seed(seed) == derive_seed(seed, key)
    assert Stream.PERTURBATION.seed(seed, 120, 7) == derive_seed(seed, 7, 120, 7)
    assert Stream.LEARNING_CURVE.seed(seed, 3) == derive_seed(seed, 10, 3)


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_model_seeds_never_equal_a_stream_seed(seed):
    streams = {stream.seed(seed) for stream in Stream}
    models = [model_seed(seed, i) for i in range(21)]
    assert not streams & set(models)
    assert len(set(models)) == len(models)
    assert models[:5] == [derive_seed(seed, i) for i in range(5)]  # the indices of every example keep their seeds


def test_every_stream_says_what_draws_from_it():
    assert len({int(s) for s in Stream}) == len(Stream)
    assert all(s.__doc__ and s.__doc__ != Stream.__doc__ for s in Stream)
