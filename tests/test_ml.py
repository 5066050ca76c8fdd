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
