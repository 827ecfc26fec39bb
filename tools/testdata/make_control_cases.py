#!/usr/bin/python3
"""Write backend-test folders (model.onnx + test_data_set_K/*.pb) for If, the
edges ONNX's test_if misses: branches that read the enclosing graph's values
(captures), outputs whose shape depends on the data and on the branch taken,
an If nested in a branch reading values of both enclosing scopes, a branch
output that is an outer value itself, a condition computed from the input, and
an If result feeding later nodes. Each case has one data set per branch.
Expected outputs are computed with numpy.

Run: /usr/bin/python3 tools/testdata/make_control_cases.py test/data
(ctest control_cases runs `nn-tool test --no-skip` on them.)
"""
import os
import shutil
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(sys.argv[1], "control")
shutil.rmtree(OUT, ignore_errors=True)
F = TensorProto.FLOAT


def save(t, path):
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def case(name, graph, sets):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    save(model, os.path.join(d, "model.onnx"))
    for k, (inputs, outputs) in enumerate(sets):
        s = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(s)
        for i, (n, a) in enumerate(inputs):
            save(numpy_helper.from_array(a, n), os.path.join(s, "input_%d.pb" % i))
        for i, (n, a) in enumerate(outputs):
            save(numpy_helper.from_array(a, n), os.path.join(s, "output_%d.pb" % i))


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, a):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(a), name + "_v"))


# 1. cond = sum(x) > 0; then: x * w (w an outer initializer); else: the positive
#    elements of x (NonZero + Gather: a data-dependent length). Then Add 1 after.
then_b = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["t_out"])], "then", [], [vi("t_out", None)])
else_b = helper.make_graph([
    const("zero", np.float32(0)),
    helper.make_node("Greater", ["x", "zero"], ["pos"]),
    helper.make_node("NonZero", ["pos"], ["nz"]),
    helper.make_node("Squeeze", ["nz", "ax0"], ["idx"]),
    helper.make_node("Gather", ["x", "idx"], ["e_out"]),
], "else", [], [vi("e_out", None)])
g = helper.make_graph([
    helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
    const("z", np.float32(0)),
    helper.make_node("Greater", ["s", "z"], ["cond"]),
    helper.make_node("If", ["cond"], ["y"], then_branch=then_b, else_branch=else_b),
    const("one", np.float32(1)),
    helper.make_node("Add", ["y", "one"], ["out"]),
], "if_capture", [vi("x", [6])], [vi("out", None)],
    initializer=[numpy_helper.from_array(np.arange(6, dtype=np.float32), "w"),
                 numpy_helper.from_array(np.array([0], dtype=np.int64), "ax0")])
xa = np.array([1, -2, 3, -4, 5, 0.5], np.float32)
xb = np.array([1, -2, 3, -4, 0.5, -9], np.float32)
case("if_capture", g, [([("x", xa)], [("out", xa * np.arange(6, dtype=np.float32) + 1)]),
                       ([("x", xb)], [("out", xb[xb > 0] + 1)])])

# 2. nested: the else branch computes m = x - 1 and holds an If on `c2` whose
#    branches read m (outer branch) and x (main graph); the then branch passes
#    x through (an outer value as the output, no node).
inner_then = helper.make_graph([helper.make_node("Add", ["m", "x"], ["it"])], "it", [], [vi("it", None)])
inner_else = helper.make_graph([helper.make_node("Neg", ["m"], ["ie"])], "ie", [], [vi("ie", None)])
outer_else = helper.make_graph([
    const("one_f", np.float32(1)),
    helper.make_node("Sub", ["x", "one_f"], ["m"]),
    helper.make_node("If", ["c2"], ["r"], then_branch=inner_then, else_branch=inner_else),
], "oe", [], [vi("r", None)])
outer_then = helper.make_graph([], "ot", [], [vi("x", None)])
g = helper.make_graph([
    helper.make_node("If", ["c1"], ["y"], then_branch=outer_then, else_branch=outer_else),
], "if_nested", [vi("c1", [], TensorProto.BOOL), vi("c2", [], TensorProto.BOOL), vi("x", [2, 3])], [vi("y", None)])
x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
T, Fb = np.array(True), np.array(False)
case("if_nested", g, [([("c1", T), ("c2", T), ("x", x)], [("y", x)]),
                      ([("c1", Fb), ("c2", T), ("x", x)], [("y", (x - 1) + x)]),
                      ([("c1", Fb), ("c2", Fb), ("x", x)], [("y", -(x - 1))])])

# 3. two outputs of different dtypes and an int condition (nonzero = true).
then_b = helper.make_graph([helper.make_node("Shape", ["x"], ["sh"]), helper.make_node("Abs", ["x"], ["ab"])],
                          "t3", [], [vi("sh", None, TensorProto.INT64), vi("ab", None)])
else_b = helper.make_graph([const("k", np.array([7, 7], np.int64)), helper.make_node("Relu", ["x"], ["re"])],
                          "e3", [], [vi("k", None, TensorProto.INT64), vi("re", None)])
g = helper.make_graph([
    helper.make_node("Cast", ["n"], ["cb"], to=TensorProto.BOOL),
    helper.make_node("If", ["cb"], ["a", "b"], then_branch=then_b, else_branch=else_b),
], "if_two_outputs", [vi("n", [1], TensorProto.INT32), vi("x", [3, 2])],
    [vi("a", None, TensorProto.INT64), vi("b", None)])
x = np.array([[1, -1], [2, -2], [-3, 3]], np.float32)
case("if_two_outputs", g, [([("n", np.array([5], np.int32)), ("x", x)], [("a", np.array([3, 2], np.int64)),
                                                                        ("b", np.abs(x))]),
                           ([("n", np.array([0], np.int32)), ("x", x)], [("a", np.array([7, 7], np.int64)),
                                                                        ("b", np.maximum(x, 0))])])
print("wrote", OUT)
