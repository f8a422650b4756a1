"""no_grad and scope: where they apply, generators and threads included."""

import threading

import numpy as np
import pytest

import minigraph as mg


def state():
    return mg.is_grad_enabled(), mg.context.current_scope()


def test_a_with_block_around_a_yield_stays_open_while_the_generator_is_paused_as_documented():
    # Python runs a paused generator's `with` block on: the caller sees it until the
    # generator resumes and leaves it (torch.no_grad behaves the same). The docstrings say
    # so and point to the decorator form below.
    def batches():
        with mg.no_grad(), mg.scope("loader"):
            yield 1
        yield 2

    it = batches()
    assert state() == (True, ())
    next(it)
    assert state() == (False, ("loader",))
    next(it)
    assert state() == (True, ())
    for function in (mg.no_grad, mg.scope):
        assert "generator" in function.__doc__ and "decorat" in function.__doc__


@pytest.mark.parametrize("decorate, inside, inside_caller_scope", [
    (mg.no_grad(), (False, ()), (False, ("caller",))),
    (mg.scope("loader"), (True, ("loader",)), (True, ("caller", "loader"))),
])
def test_a_decorated_generator_runs_inside_the_setting_and_its_caller_outside(decorate, inside, inside_caller_scope):
    seen = []

    @decorate
    def batches(n):
        for i in range(n):
            seen.append(state())
            received = yield mg.constant(float(i)) * mg.parameter(2.0, name="w")
            seen.append(("received", received))
        return "done"

    it = batches(2)
    first = next(it)
    assert state() == (True, ())  # the caller, between two resumptions
    with mg.scope("caller"):
        assert it.send("a").value == 2.0
        assert state() == (True, ("caller",))
    with pytest.raises(StopIteration) as stop:
        it.send("b")
    assert stop.value.value == "done"
    # Each resumption runs inside the setting, on top of the caller's state at that moment.
    assert seen == [inside, ("received", "a"), inside_caller_scope, ("received", "b")]
    assert (first.kind == "constant") == (not inside[0])  # no_grad: the product records no edges
    assert batches.__name__ == "batches"


def test_a_decorated_generator_gets_thrown_exceptions_and_closes_inside_the_setting():
    events = []

    @mg.no_grad()
    def gen():
        try:
            yield 1
        except KeyError:
            events.append(("caught", mg.is_grad_enabled()))
            yield 2
        finally:
            events.append(("closed", mg.is_grad_enabled()))

    it = gen()
    next(it)
    assert it.throw(KeyError("k")) == 2
    it.close()
    assert events == [("caught", False), ("closed", False)]
    assert mg.is_grad_enabled()


def test_a_decorated_function_and_a_reused_setting_work_in_threads_and_recursion():
    @mg.scope("outer")
    def depth(n):
        return mg.context.current_scope() if n == 0 else depth(n - 1)

    assert depth(2) == ("outer", "outer", "outer")
    results = []

    def worker():
        results.append(depth(1))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [("outer", "outer")] * 4 and state() == (True, ())


def test_scope_refuses_a_bad_name_when_made_so_a_decorator_fails_where_it_is_written():
    with pytest.raises(ValueError, match="non-empty string"):  # a string, but no name
        mg.scope("  ")
    with pytest.raises(TypeError, match="non-empty string, got 3"):
        mg.scope(3)
    # The dot joins scopes in labels: scope("a.b") would read as b inside a.
    with pytest.raises(ValueError, match=r"scope: 'layer1\.linear' contains '\.', but a scope's name is one level "
                                         r"\(labels join nested scopes with dots: layer1\.z\); nest scopes instead "
                                         r"\(with mg\.scope\('layer1'\): with mg\.scope\('linear'\): \.\.\.\)"):
        mg.scope("layer1.linear")
    with pytest.raises(ValueError, match="contains '/'"):
        mg.scope("layer1/linear")
    with mg.scope("layer1"):  # a node's own name may hold a dot, as "layer1.W" written by hand
        assert mg.parameter(1.0, name="encoder.W").label == "encoder.W"
    np.testing.assert_equal(state(), (True, ()))
