"""Known-answer tests of the pure statistics: distances, bootstrap, ACF, kurtosis, Hill."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path
from scipy import stats

from modeling_tradefm.evaluation.distances import (
    bootstrap_ci,
    compare,
    ks_statistic,
    normalised_w1,
    wasserstein1,
)
from modeling_tradefm.evaluation.stylized_facts import acf, excess_kurtosis, hill_tail_index, stylized_facts

AAPL = ("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(1234)
    return {
        "normal": rng.normal(0.0, 1.0, 700),
        "shifted": rng.normal(0.3, 1.4, 450),
        "discrete_a": rng.integers(1, 5, 600).astype(float),  # ties, like spreads in ticks
        "discrete_b": rng.integers(1, 4, 300).astype(float),
        "heavy": rng.standard_t(3, 1000),
    }


@pytest.mark.parametrize("pair", [("normal", "shifted"), ("discrete_a", "discrete_b"), ("normal", "heavy"),
                                  ("shifted", "shifted")])
def test_ks_and_w1_agree_with_scipy(samples, pair):
    a, b = samples[pair[0]], samples[pair[1]]
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert wasserstein1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-10, abs=1e-12)
    # bit for bit: ks_2samp's asymptotic method keeps the raw ECDF difference (the exact one re-rounds it)
    assert ks_statistic(a, b) == stats.ks_2samp(a, b, method="asymp").statistic


@pytest.fixture(scope="module")
def aapl_halves():
    """Order sizes (heavy ties), Δt between records (mostly 0) and prices of the AAPL sample's two halves."""
    from modeling_tradefm.io import read_events

    ev = read_events(real_path(*AAPL), progress=False)
    half = len(ev) // 2
    fields = {"size": ev.size.astype(np.float64), "dt": np.r_[0.0, np.diff(ev.ts_recv) / 1e9],
              "price": ev.price / 1e9}
    return {k: (v[:half], v[half:]) for k, v in fields.items()}


@pytest.mark.parametrize("field", ["size", "dt", "price"])
def test_ks_and_w1_are_scipys_on_real_data(aapl_halves, field):
    a, b = aapl_halves[field]
    assert ks_statistic(a, b) == stats.ks_2samp(a, b, method="asymp").statistic
    assert ks_statistic(a, b) > 0.01  # the halves differ: not a trivial 0 = 0
    assert wasserstein1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    z = (a - a.mean()) / a.std()
    assert normalised_w1(a, b) == pytest.approx(stats.wasserstein_distance(z, (b - a.mean()) / a.std()), rel=1e-12)


@pytest.mark.parametrize("stat", [ks_statistic, normalised_w1])
def test_bootstrap_ci_is_the_seeded_resampling_loop(samples, aapl_halves, stat):
    """The interval of independent resamples, a's indices then b's from one default_rng(seed) stream."""
    for a, b in [(samples["normal"], samples["heavy"]), aapl_halves["size"]]:
        rng = np.random.default_rng(11)
        boot = [stat(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))]) for _ in range(40)]
        expected = np.quantile(boot, [0.05, 0.95])
        np.testing.assert_allclose(bootstrap_ci(stat, a, b, n_boot=40, alpha=0.1, seed=11), expected, rtol=1e-12)


def test_bootstrap_ci_needs_two_values_per_sample(samples):
    assert np.isnan(bootstrap_ci(ks_statistic, [1.0], samples["normal"])).all()
    assert np.isnan(bootstrap_ci(ks_statistic, samples["normal"], [np.nan, 2.0])).all()
    assert np.isnan(bootstrap_ci(ks_statistic, samples["normal"], samples["heavy"], n_boot=0)).all()
    out = compare([1.0], samples["normal"], n_boot=10)
    assert out["ks"] == ks_statistic([1.0], samples["normal"]) and np.isnan(out["ks_ci"]).all()


def test_normalised_w1_is_w1_over_real_std(samples):
    real, gen = samples["normal"], samples["shifted"]
    expected = stats.wasserstein_distance((real - real.mean()) / real.std(), (gen - real.mean()) / real.std())
    assert normalised_w1(real, gen) == pytest.approx(expected, rel=1e-10)
    assert normalised_w1(real, gen) == pytest.approx(wasserstein1(real, gen) / real.std(), rel=1e-10)


@pytest.mark.parametrize("scale,shift", [(1e-4, 0.0), (37.0, -5.0), (-2.5, 1e3)])
def test_normalised_w1_and_ks_invariant_to_common_affine_map(samples, scale, shift):
    real, gen = samples["normal"], samples["heavy"]
    base = normalised_w1(real, gen)
    assert normalised_w1(scale * real + shift, scale * gen + shift) == pytest.approx(base, rel=1e-9)
    if scale > 0:  # K-S is invariant to increasing maps only
        assert ks_statistic(scale * real + shift, scale * gen + shift) == pytest.approx(ks_statistic(real, gen))
    # raw W1 is NOT invariant: the normalisation is what makes units comparable
    assert wasserstein1(scale * real, scale * gen) == pytest.approx(abs(scale) * wasserstein1(real, gen))


def test_normalised_w1_constant_real_falls_back_to_raw_units():
    real = np.full(50, 2.0)
    gen = np.array([2.0, 3.0, 4.0, 2.0])
    assert normalised_w1(real, gen) == pytest.approx(stats.wasserstein_distance(real, gen))
    assert compare(real, gen, n_boot=5)["w1_scale"] == "raw"


def test_empty_and_nan_inputs():
    assert np.isnan(ks_statistic([], [1.0]))
    assert np.isnan(normalised_w1([1.0, 2.0], [np.nan]))
    # NaNs are dropped, not propagated
    assert ks_statistic([0.0, 1.0, np.nan], [0.0, 1.0]) == 0.0


def test_bootstrap_ci_contains_estimate_and_is_seeded(samples):
    real, gen = samples["normal"], samples["shifted"]
    for stat in (ks_statistic, normalised_w1):
        point = stat(real, gen)
        lo, hi = bootstrap_ci(stat, real, gen, n_boot=300, seed=7)
        assert lo < point < hi
        assert hi - lo < 0.5 * point + 0.2  # an interval, not the whole range
        assert (lo, hi) == bootstrap_ci(stat, real, gen, n_boot=300, seed=7)
        assert (lo, hi) != bootstrap_ci(stat, real, gen, n_boot=300, seed=8)


def test_compare_shape_and_ordering(samples):
    out = compare(samples["normal"], samples["shifted"], n_boot=50, seed=3)
    assert set(out) >= {"ks", "w1", "ks_ci", "w1_ci"}
    assert len(out["ks_ci"]) == 2 and out["ks_ci"][0] <= out["ks_ci"][1]
    # a sample closer to the real one is closer by both distances
    rng = np.random.default_rng(5)
    near = compare(samples["normal"], rng.normal(0.0, 1.0, 450), n_boot=10)
    assert near["ks"] < out["ks"] and near["w1"] < out["w1"]


def test_acf_of_ar1_matches_phi_power_k():
    rng = np.random.default_rng(42)
    phi, n = 0.6, 60_000
    eps = rng.normal(size=n)
    x = np.empty(n)
    x[0] = eps[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + eps[t]
    rho = acf(x, max_lag=10)
    np.testing.assert_allclose(rho, phi ** np.arange(1, 11), atol=0.02)
    # white noise: no autocorrelation, within ~4/sqrt(n)
    assert np.all(np.abs(acf(eps, 50)) < 4 / np.sqrt(n))


def test_acf_lags_never_cross_segments():
    # two segments, each perfectly alternating; concatenation would create a spurious pair at the joint
    seg = np.array([1.0, -1.0] * 50)
    pooled = acf([seg, -seg], max_lag=2)
    assert pooled[0] == pytest.approx(-99 * 2 / 200)
    joined = acf(np.concatenate([seg, -seg]), max_lag=2)
    assert joined[0] != pytest.approx(pooled[0])
    assert np.isnan(acf([np.array([1.0, 2.0])], max_lag=3)[2])


@pytest.mark.parametrize("nu,expected", [(10, 1.0), (12, 0.75)])
def test_kurtosis_of_student_t(nu, expected):
    rng = np.random.default_rng(nu)
    x = rng.standard_t(nu, 2_000_000)
    assert excess_kurtosis(x) == pytest.approx(stats.kurtosis(x), rel=1e-9)
    assert excess_kurtosis(x) == pytest.approx(expected, abs=0.12)
    assert excess_kurtosis(rng.normal(size=400_000)) == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("alpha", [1.5, 3.0])
def test_hill_recovers_pareto_index(alpha):
    rng = np.random.default_rng(int(alpha * 10))
    x = (1.0 - rng.random(100_000)) ** (-1.0 / alpha)  # Pareto(alpha), x_min = 1
    signs = rng.choice([-1.0, 1.0], size=len(x))
    out = hill_tail_index(signs * x)
    assert out["k"] == 5000
    assert out["alpha"] == pytest.approx(alpha, rel=0.06)
    assert out["stderr"] == pytest.approx(out["alpha"] / np.sqrt(5000))
    # zeros are ignored
    assert hill_tail_index(np.concatenate([x, np.zeros(1000)]), k=500)["alpha"] == pytest.approx(
        hill_tail_index(x, k=500)["alpha"])


def test_stylized_facts_bundle():
    rng = np.random.default_rng(0)
    rets = {1.0: [rng.standard_t(5, 3000), rng.standard_t(5, 2000)], 10.0: rng.normal(size=500)}
    out = stylized_facts(rets, max_lag=20)
    assert out["acf_horizon_s"] == 1.0 and len(out["acf_returns"]) == 20
    assert out["kurtosis"][1.0] > out["kurtosis"][10.0]
    assert out["returns"][1.0]["n"] == 5000


def test_stylized_facts_acf_panels_are_of_returns_and_of_absolute_returns():
    """Random signs with a volatility that switches between 1 and 10 every 100 returns: the returns have
    no autocorrelation, their absolute values (the volatility itself) almost full autocorrelation."""
    rng = np.random.default_rng(3)
    sigma = np.repeat(rng.choice([1.0, 10.0], size=60), 100)
    r = sigma * rng.choice([-1.0, 1.0], size=len(sigma))
    out = stylized_facts({1.0: [r[:3000], r[3000:]]}, max_lag=5)
    assert out["acf_returns"] == acf([r[:3000], r[3000:]], 5).tolist()
    assert out["acf_abs_returns"] == acf([np.abs(r[:3000]), np.abs(r[3000:])], 5).tolist()
    assert max(abs(x) for x in out["acf_returns"]) < 4 / np.sqrt(len(r))
    # |r| = sigma: at lag k only the pairs straddling one of the ~30 switches differ
    assert min(out["acf_abs_returns"]) > 0.9
