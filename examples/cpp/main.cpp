// main.cpp — nn from C++: RAII handles over the C API, exceptions for
// failures. Loads a model, describes it, runs it once on zero-filled inputs
// (symbolic dimensions taken as 1) and prints each output's shape and first
// values.  usage: nn_run_cpp MODEL.onnx
#include <nn.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// A failed nn call as an exception carrying the status and nn_last_error().
struct nn_error : std::runtime_error {
    nn_status status;
    nn_error(nn_status st, const std::string &what)
        : std::runtime_error(what + ": " + nn_last_error() + " (" + nn_status_string(st) + ")"), status(st) {}
};

void check(nn_status st, const char *what)
{
    if (st != NN_OK)
        throw nn_error(st, what);
}

// unique_ptr with nn's free functions: handles are released exactly once.
struct model_free { void operator()(nn_model *m) const { nn_model_free(m); } };
struct session_free { void operator()(nn_session *s) const { nn_session_free(s); } };
struct tensor_free { void operator()(nn_tensor *t) const { nn_tensor_free(t); } };
using model_ptr = std::unique_ptr<nn_model, model_free>;
using session_ptr = std::unique_ptr<nn_session, session_free>;
using tensor_ptr = std::unique_ptr<nn_tensor, tensor_free>;

std::string shape_of(const nn_tensor *t)
{
    std::string s = "[";
    for (int32_t i = 0; i < nn_tensor_rank(t); i++)
        s += (i ? "," : "") + std::to_string(nn_tensor_dim(t, i));
    return s + "]";
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    try {
        std::printf("nn %s (header %d.%d.%d)\n", nn_version(), NN_VERSION_MAJOR, NN_VERSION_MINOR, NN_VERSION_PATCH);
        nn_model *raw_model = nullptr;
        check(nn_model_load(argv[1], nullptr, &raw_model), "load");
        model_ptr model(raw_model);

        // One zero-filled tensor per input, at its declared shape.
        std::vector<tensor_ptr> inputs;
        std::vector<const nn_tensor *> views;
        for (uint32_t i = 0; i < nn_model_input_count(model.get()); i++) {
            const char *name = nullptr;
            nn_dtype dtype = 0;
            int32_t rank = 0;
            check(nn_model_input_info(model.get(), i, &name, &dtype, &rank), "input info");
            std::vector<int64_t> dims(rank > 0 ? rank : 0);
            for (int32_t a = 0; a < rank; a++) {
                check(nn_model_input_dim(model.get(), i, a, &dims[a], nullptr), "input dim");
                if (dims[a] < 0)
                    dims[a] = 1;
            }
            nn_tensor *t = nullptr;
            check(nn_tensor_create(dtype, rank, dims.data(), &t), "create input");
            inputs.emplace_back(t);
            views.push_back(t);
            std::printf("input %s: %s %s\n", name, nn_dtype_name(dtype), shape_of(t).c_str());
        }

        nn_session *raw_session = nullptr;
        check(nn_session_create(model.get(), nullptr, &raw_session), "session");
        session_ptr session(raw_session);
        check(nn_session_run(session.get(), static_cast<uint32_t>(views.size()), nullptr, views.data()), "run");
        for (uint32_t i = 0; i < nn_session_output_count(session.get()); i++) {
            const nn_tensor *y = nn_session_output(session.get(), i); // valid until the next run
            std::printf("output %u: %s %s\n", i, nn_dtype_name(nn_tensor_dtype(y)), shape_of(y).c_str());
        }
        return 0;
    } catch (const nn_error &e) {
        std::fprintf(stderr, "nn_run_cpp: %s\n", e.what());
        return 1;
    }
}
