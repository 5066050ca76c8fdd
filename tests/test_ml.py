"""The shared Titanic data and numpy models."""

import numpy as np
import pytest

from widgets_py import ml


def test_split_is_fixed_and_complete():
    d = ml.titanic(seed=0)
    assert d.X_train.shape == (982, 5) and d.X_test.shape == (327, 5)
    assert d.feature_names == ml.FEATURES
    again = ml.titanic.__wrapped__(seed=0)
    np.testing.assert_array_equal(again.X_test, d.X_test)
    # 500 of 1,309 passengers survived in the source table.
    assert d.y_train.sum() + d.y_test.sum() == 500


def test_age_is_scaled_with_training_rows_only():
    d = ml.titanic(seed=0)
    known = d.X_train[:, 2] == 0
    assert abs(d.X_train[known, 1].mean()) < 1e-9
    assert abs(d.X_train[known, 1].std() - 1) < 1e-9


def test_cached_arrays_are_read_only():
    with pytest.raises(ValueError):
        ml.titanic().X_train[0, 0] = 5


@pytest.mark.parametrize("sizes", [[5, 1], [5, 4, 1], [5, 6, 3, 1]])
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_gradients_match_finite_differences(sizes, temperature):
    d = ml.titanic()
    X, y = d.X_train[:40], d.y_train[:40]
    layers = ml.init_layers(sizes, seed=3)
    layers[0]["W"] += 0.1  # away from zero so logistic regression has a non-trivial gradient
    soft = np.linspace(0.1, 0.9, 40) if temperature != 1 else None
    loss, grads = ml.loss_and_grads(layers, X, y, soft_targets=soft, temperature=temperature, l2=0.01)
    eps = 1e-6
    for i, layer in enumerate(layers):
        for key in ("W", "b"):
            bumped = ml.copy_layers(layers)
            bumped[i][key].flat[0] += eps
            numeric = (ml.loss_and_grads(bumped, X, y, soft, temperature, 0.01)[0] - loss) / eps
            assert numeric == pytest.approx(grads[i][key].flat[0], rel=1e-4, abs=1e-7)


def test_training_is_deterministic_and_learns():
    d = ml.titanic()
    a, losses = ml.train(ml.init_layers([5, 1]), d.X_train, d.y_train, steps=400, batch_size=64, lr=0.5)
    b, _ = ml.train(ml.init_layers([5, 1]), d.X_train, d.y_train, steps=400, batch_size=64, lr=0.5)
    np.testing.assert_array_equal(a[0]["W"], b[0]["W"])
    assert losses[-20:].mean() < losses[:20].mean()
    # Sex and class alone predict Titanic survival well; a model below 0.74 has not learnt that.
    assert 0.74 < ml.accuracy(a, d.X_test, d.y_test) < 0.85


def test_masks_keep_pruned_weights_at_zero():
    d = ml.titanic()
    layers = ml.init_layers([5, 8, 1], seed=1)
    masks = [{k: (np.arange(v.size).reshape(v.shape) % 2).astype(float) for k, v in layer.items()}
             for layer in layers]
    trained, _ = ml.train(layers, d.X_train, d.y_train, steps=50, batch_size=32, lr=0.1, masks=masks)
    for layer, mask in zip(trained, masks):
        for k in layer:
            assert np.all(layer[k][mask[k] == 0] == 0)
    assert ml.n_params(trained) == 5 * 8 + 8 + 8 + 1


@pytest.mark.parametrize("n_rows,steps,batch,seed", [(982, 777, 64, 4), (10, 7, 64, 1), (100, 30, 32, 0)])
def test_batch_index_array_is_batch_indices_at_once(n_rows, steps, batch, seed):
    expected = np.array(list(ml.batch_indices(n_rows, steps, batch, seed)))
    np.testing.assert_array_equal(ml.batch_index_array(n_rows, steps, batch, seed), expected)


def _max_gap(a: ml.Layers, b: ml.Layers) -> float:
    return max(float(np.max(np.abs(x[k] - y[k]))) for x, y in zip(a, b) for k in x)


@pytest.mark.parametrize("case", range(12))
def test_train_stack_is_train_for_each_model(case):
    """The stacked trainer used by the cost dashboard against the reference ``train``, on random
    recipes: sizes, seeds, learning rates, soft targets with temperature and hard-label weight, masks."""
    rng = np.random.default_rng(case)
    d = ml.titanic(int(rng.integers(0, 5)))
    sizes = [5, 1] if case % 4 == 0 or case == 11 else [5, int(rng.integers(1, 24)), 1]
    steps, batch, lr, seed = int(rng.integers(20, 160)), int(rng.choice([16, 64])), float(rng.uniform(0.02, 0.5)), case
    kwargs = {}
    if case % 2:
        kwargs = {"soft_targets": rng.uniform(0, 1, d.y_train.size), "temperature": float(rng.uniform(1, 8)),
                  "hard_weight": float(rng.choice([0.0, 0.3, 1.0]))}
    models = [ml.init_layers(sizes, seed + j) for j in range(3)]
    masks = None
    if case % 3 == 0:
        masks = [[{k: (rng.uniform(size=v.shape) > 0.4).astype(float) for k, v in layer.items()} for layer in m]
                 for m in models]
    out = ml.train_stack(models, d.X_train, d.y_train, steps, batch, lr, seed, masks=masks,
                         checkpoints=[steps // 2], **kwargs)
    assert sorted(out) == sorted({steps // 2, steps} - {0})
    for j, model in enumerate(models):
        mask = None if masks is None else masks[j]
        ref, _ = ml.train(model, d.X_train, d.y_train, steps, batch, lr, seed, masks=mask, **kwargs)
        assert _max_gap(out[steps][j], ref) < 1e-10  # the same arithmetic, sums in another order
        assert ml.accuracy(out[steps][j], d.X_test, d.y_test) == ml.accuracy(ref, d.X_test, d.y_test)
        # continuing from the checkpoint sees the batches of the uninterrupted run
        if steps // 2:
            again = ml.train_stack([out[steps // 2][j]], d.X_train, d.y_train, steps, batch, lr, seed,
                                   masks=None if mask is None else [mask], start_step=steps // 2, **kwargs)
            assert _max_gap(again[steps][0], ref) < 1e-10
    for j, model in enumerate(models):  # inputs untouched
        assert _max_gap(model, ml.init_layers(sizes, seed + j)) == 0.0
