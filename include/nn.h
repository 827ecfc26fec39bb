/*
 * nn.h — the public interface of nn, an embeddable C library that loads
 * pretrained neural networks (ONNX), runs them on the CPU, adapts and
 * fine-tunes them.
 *
 * This header is the reference manual. Conventions (see docs/conventions.md):
 *  - Every function returns an nn_status (NN_OK == 0, failures negative) unless
 *    it is a plain getter; on failure nn_last_error() describes what failed.
 *  - Handles are opaque. A constructor writes its handle through the *last*
 *    parameter; every *_free(NULL) is a no-op.
 *  - Options structs start with a uint32_t `version` and are initialised with
 *    the matching nn_*_options_init(); NULL options mean defaults.
 *  - Strings returned by getters are borrowed: valid until the object they
 *    came from is freed (or, for sessions, until the next run).
 *  - Thread safety: a loaded nn_model is read-only while it is being run and
 *    may be shared by any number of threads, each with its own nn_session.
 *    Functions that change a model need exclusive access to it.
 *
 * @since 1.0 for everything below unless stated otherwise.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------ */

#define NN_VERSION_MAJOR 1
#define NN_VERSION_MINOR 0
#define NN_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH, comparable with nn_version_number(). */
#define NN_VERSION_NUMBER (NN_VERSION_MAJOR * 10000 + NN_VERSION_MINOR * 100 + NN_VERSION_PATCH)

/* ---- Export macro ------------------------------------------------------- */

#if defined(NN_STATIC)
#define NN_API
#elif defined(_WIN32)
#if defined(NN_BUILDING)
#define NN_API __declspec(dllexport)
#else
#define NN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define NN_API __attribute__((visibility("default")))
#else
#define NN_API
#endif

/**
 * NN_DEPRECATED(msg) marks a declaration that stays (same symbol, same
 * behaviour) until SONAME 2 but has a better replacement named in `msg`;
 * compilers warn on use. Define NN_NO_DEPRECATED before including nn.h to
 * hide deprecated declarations altogether (to check code is ready for 2.0).
 * @since 1.0
 */
#if defined(__GNUC__) || defined(__clang__)
#define NN_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define NN_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#define NN_DEPRECATED(msg)
#endif

/* ---- Status codes ------------------------------------------------------- */

/**
 * Status of a call. Values are fixed forever; new codes are only appended and
 * a retired code is never reused. Callers must tolerate unknown negative
 * values (treat them as a generic failure).
 */
typedef int32_t nn_status;
enum {
    NN_OK = 0,
    NN_E_INVALID_ARG = -1,   /**< a NULL pointer, out-of-range index, bad option */
    NN_E_NOMEM = -2,         /**< an allocation failed */
    NN_E_IO = -3,            /**< a file could not be opened, read or written */
    NN_E_PARSE = -4,         /**< the bytes are not a valid model/tensor/image file */
    NN_E_INVALID_MODEL = -5, /**< the file parses but the model is inconsistent */
    NN_E_UNSUPPORTED = -6,   /**< an operator, type or feature nn does not implement */
    NN_E_SHAPE = -7,         /**< tensor shapes do not fit together */
    NN_E_TYPE = -8,          /**< an element type is not what the operation needs */
    NN_E_LIMIT = -9,         /**< a size limit (elements, bytes, nodes, pixels) was exceeded */
    NN_E_NOT_FOUND = -10,    /**< a named input, output, layer or parameter does not exist */
    NN_E_STATE = -11,        /**< the object is not in a state that allows this call */
    NN_E_INTERNAL = -12      /**< a bug in nn: please report it with nn_last_error() */
};

/** The running library's version string, e.g. "1.0.0". Static storage. */
NN_API const char *nn_version(void);
/** The running library's NN_VERSION_NUMBER (compare with the header's). */
NN_API uint32_t nn_version_number(void);
/** A static English description of a status code; never NULL. */
NN_API const char *nn_status_string(nn_status status);
/**
 * The message of the last failure in the calling thread: what failed, on
 * which object, and why. Never NULL (empty string if nothing failed yet).
 * Meaningful only right after a call returned a failure. Thread-local.
 */
NN_API const char *nn_last_error(void);

/* ---- Element types ------------------------------------------------------ */

/** Element types; the numbers are ONNX's TensorProto.DataType values. */
typedef int32_t nn_dtype;
enum {
    NN_DTYPE_UNDEFINED = 0,
    NN_DTYPE_FLOAT32 = 1,
    NN_DTYPE_UINT8 = 2,
    NN_DTYPE_INT8 = 3,
    NN_DTYPE_UINT16 = 4,
    NN_DTYPE_INT16 = 5,
    NN_DTYPE_INT32 = 6,
    NN_DTYPE_INT64 = 7,
    NN_DTYPE_STRING = 8,
    NN_DTYPE_BOOL = 9,
    NN_DTYPE_FLOAT16 = 10,
    NN_DTYPE_FLOAT64 = 11,
    NN_DTYPE_UINT32 = 12,
    NN_DTYPE_UINT64 = 13
};

/** The most dimensions a tensor may have. */
#define NN_MAX_RANK 8

/** Static name of a dtype ("float32", "int64", ...); "unknown" if not one. */
NN_API const char *nn_dtype_name(nn_dtype dtype);
/** Size in bytes of one element, 0 for unknown or non-numeric types. */
NN_API size_t nn_dtype_size(nn_dtype dtype);

/* ---- Tensors ------------------------------------------------------------ */

/**
 * A dense, row-major tensor. It either owns its memory (nn_tensor_create,
 * nn_tensor_read_file) or wraps memory the caller keeps (nn_tensor_wrap).
 */
typedef struct nn_tensor nn_tensor;

/**
 * Create a zero-filled tensor that owns its memory.
 * @param dtype element type
 * @param rank  number of dimensions, 0..NN_MAX_RANK (0 = scalar)
 * @param dims  rank sizes, each >= 0; may be NULL when rank == 0
 * @param out   receives the tensor; free it with nn_tensor_free()
 * @return NN_OK, NN_E_INVALID_ARG, NN_E_LIMIT (size overflows), NN_E_NOMEM
 */
NN_API nn_status nn_tensor_create(nn_dtype dtype, int32_t rank, const int64_t *dims, nn_tensor **out);
/**
 * Wrap caller memory without copying. nn never frees `data`; the caller keeps
 * it alive (and unchanged while nn reads it) until the tensor is freed.
 * `data` must hold the full tensor and be aligned to the element size.
 */
NN_API nn_status nn_tensor_wrap(nn_dtype dtype, int32_t rank, const int64_t *dims, void *data, nn_tensor **out);
/** Free a tensor (and its memory if it owns it). NULL is a no-op. */
NN_API void nn_tensor_free(nn_tensor *tensor);
NN_API nn_dtype nn_tensor_dtype(const nn_tensor *tensor);
NN_API int32_t nn_tensor_rank(const nn_tensor *tensor);
/** Size of dimension `axis` (negative counts from the end); -1 if out of range. */
NN_API int64_t nn_tensor_dim(const nn_tensor *tensor, int32_t axis);
/** Number of elements (product of dims; 1 for a scalar). */
NN_API int64_t nn_tensor_count(const nn_tensor *tensor);
/** Size in bytes of the data. */
NN_API size_t nn_tensor_nbytes(const nn_tensor *tensor);
/** The element buffer (row-major); NULL for an empty tensor. */
NN_API void *nn_tensor_data(nn_tensor *tensor);
/** Read-only view of the element buffer, for tensors the caller borrowed. */
NN_API const void *nn_tensor_data_const(const nn_tensor *tensor);
/** Name carried by the tensor (from a .pb file), or "" if none. */
NN_API const char *nn_tensor_name(const nn_tensor *tensor);
/** Set the tensor's name (copied). */
NN_API nn_status nn_tensor_set_name(nn_tensor *tensor, const char *name);
/** Read an ONNX TensorProto file (the backend-test .pb format). */
NN_API nn_status nn_tensor_read_file(const char *path, nn_tensor **out);
/** Read a serialized ONNX TensorProto from memory (copied). */
NN_API nn_status nn_tensor_read_memory(const void *data, size_t size, nn_tensor **out);
/** Write a tensor as an ONNX TensorProto file (raw_data). */
NN_API nn_status nn_tensor_write_file(const nn_tensor *tensor, const char *path);

/* ---- Models ------------------------------------------------------------- */

/** A loaded network: graph and weights. Read-only while sessions run it. */
typedef struct nn_model nn_model;

/** Formats nn_model_load understands. */
enum {
    NN_FORMAT_AUTO = 0,   /**< detect from content and file name */
    NN_FORMAT_ONNX = 1,
    NN_FORMAT_DARKNET = 2 /**< darknet .cfg text plus a .weights file */
};

#define NN_LOAD_OPTIONS_VERSION 2
/**
 * Options for nn_model_load*(). Initialise with nn_load_options_init().
 * The max_* fields are the limits that keep a hostile or broken file from
 * exhausting memory, stack or time (docs/limits.md): each is checked before
 * the memory it guards is allocated, and exceeding one is NN_E_LIMIT naming
 * the limit. 0 means the default.
 */
typedef struct nn_load_options {
    uint32_t version;          /**< NN_LOAD_OPTIONS_VERSION */
    int32_t format;            /**< NN_FORMAT_*, default NN_FORMAT_AUTO */
    uint64_t max_model_bytes;  /**< refuse larger files, and models whose tensors together (initializers,
                                    external data, darknet weights, constants folded at load) are larger;
                                    0 = default (4 GiB) */
    uint64_t max_tensor_bytes; /**< refuse larger tensors: weights at load, activations when a session plans
                                    or runs; 0 = default (4 GiB) */
    uint32_t max_nodes;        /**< refuse graphs with more nodes; 0 = default (1,000,000) */
    uint32_t reserved_u32;     /**< must be 0 */
    const char *weights_path;  /**< separate weights file where the format has one (darknet .weights); NULL = next
                                    to the model: X.weights for X.cfg */
    /* version 2 */
    uint64_t max_tensor_elements; /**< refuse tensors with more elements (as max_tensor_bytes);
                                       0 = default (2^31 - 1) */
    uint32_t max_graph_depth;     /**< refuse graphs whose longest chain of nodes is longer; 0 = default (100,000) */
    uint32_t max_subgraph_depth;  /**< refuse files that nest subgraphs (If/Loop/Scan bodies) deeper;
                                       0 = default (16) */
    uint64_t max_session_bytes;   /**< refuse runs whose activations alive at once (a session's plan, plus what
                                       shapes known only at run time allocate) take more; 0 = default (16 GiB) */
} nn_load_options;

/** Fill `options` with defaults for the given struct version. */
NN_API nn_status nn_load_options_init(nn_load_options *options, uint32_t version);

/**
 * Load a model from a file.
 * ONNX: default-domain opsets 7..17; initializers from raw_data or typed
 * fields; external data files next to the model (a location outside the
 * model's folder is refused).
 * Darknet: a .cfg (recognised by its "[net]" first section or the .cfg
 * extension) with its .weights (options->weights_path, else X.weights beside
 * X.cfg; the file's size must match the cfg exactly); class names are read
 * from X.names beside X.cfg when present. The layers become standard ONNX
 * operators; [yolo]/[region] heads are left to nn_detect(): the tensors that
 * feed them are the model's outputs and their anchors, masks and classes
 * become nn.detect.* metadata (docs/metadata.md). Unsupported sections or
 * options are NN_E_UNSUPPORTED naming the section and line.
 * @param path    model file
 * @param options NULL for defaults
 * @param out     receives the model; free with nn_model_free()
 * @return NN_OK, NN_E_IO, NN_E_PARSE, NN_E_INVALID_MODEL, NN_E_UNSUPPORTED
 *         (names the op, node and opset), NN_E_LIMIT, NN_E_NOMEM, NN_E_INVALID_ARG
 */
NN_API nn_status nn_model_load(const char *path, const nn_load_options *options, nn_model **out);
/**
 * Load a model from memory (copied; `data` may be freed on return). External
 * data files cannot be resolved (there is no folder) and are refused.
 */
NN_API nn_status nn_model_load_memory(const void *data, size_t size, const nn_load_options *options, nn_model **out);
/** Free a model. All its sessions must be freed first. NULL is a no-op. */
NN_API void nn_model_free(nn_model *model);

/* Introspection. Index arguments out of range return NN_E_INVALID_ARG. */

/** Number of graph inputs the caller feeds (initializer-backed ones excluded). */
NN_API uint32_t nn_model_input_count(const nn_model *model);
NN_API uint32_t nn_model_output_count(const nn_model *model);
/**
 * Describe input `index`: its name (borrowed), element type and rank.
 * Any out pointer may be NULL.
 */
NN_API nn_status nn_model_input_info(const nn_model *model, uint32_t index, const char **name, nn_dtype *dtype, int32_t *rank);
NN_API nn_status nn_model_output_info(const nn_model *model, uint32_t index, const char **name, nn_dtype *dtype, int32_t *rank);
/**
 * Dimension `axis` of input `index`: `*dim` is its size, or -1 when it is
 * symbolic or unknown; `*symbol` (may be NULL) receives the symbolic name or
 * "" when the dimension is fixed or unnamed.
 */
NN_API nn_status nn_model_input_dim(const nn_model *model, uint32_t index, int32_t axis, int64_t *dim, const char **symbol);
NN_API nn_status nn_model_output_dim(const nn_model *model, uint32_t index, int32_t axis, int64_t *dim, const char **symbol);
/** Number of layers (graph nodes after load-time folding). */
NN_API uint32_t nn_model_layer_count(const nn_model *model);
/** Name and operator type (e.g. "Conv") of layer `index`, borrowed. */
NN_API nn_status nn_model_layer_info(const nn_model *model, uint32_t index, const char **name, const char **op_type);
/** Number of trainable parameters (elements of float initializers). */
NN_API uint64_t nn_model_param_count(const nn_model *model);
/**
 * Multiply-adds of one forward pass with the inputs' declared shapes
 * (symbolic dimensions taken as 1). Conv, Gemm and MatMul are counted.
 */
NN_API nn_status nn_model_macs(const nn_model *model, uint64_t *macs);
/** Value of metadata_props key `key` (borrowed), or NULL if absent. */
NN_API const char *nn_model_metadata(const nn_model *model, const char *key);

/* ---- Sessions (execution contexts) -------------------------------------- */

/**
 * A per-thread execution context for one model: activations, scratch memory
 * and a thread pool. A session is used by one thread at a time; any number of
 * sessions may run the same model concurrently.
 */
typedef struct nn_session nn_session;

#define NN_SESSION_OPTIONS_VERSION 1
typedef struct nn_session_options {
    uint32_t version;     /**< NN_SESSION_OPTIONS_VERSION */
    int32_t num_threads;  /**< worker threads for this session; 0 = all cores, 1 = run in the caller's thread */
} nn_session_options;

NN_API nn_status nn_session_options_init(nn_session_options *options, uint32_t version);
/** Create a session for `model` (which must outlive it). */
NN_API nn_status nn_session_create(const nn_model *model, const nn_session_options *options, nn_session **out);
NN_API void nn_session_free(nn_session *session);
/**
 * Run the model.
 * @param n_inputs number of entries in `names` and `inputs`
 * @param names    input names, or NULL to feed the model's inputs in order
 * @param inputs   input tensors; nn reads them during the call only
 * @return NN_OK; NN_E_NOT_FOUND (unknown name), NN_E_INVALID_ARG (missing
 *         input), NN_E_TYPE / NN_E_SHAPE (input does not fit the model), or an
 *         operator's failure
 * Outputs are read with nn_session_output() until the next run or free.
 */
NN_API nn_status nn_session_run(nn_session *session, uint32_t n_inputs, const char *const *names, const nn_tensor *const *inputs);
NN_API uint32_t nn_session_output_count(const nn_session *session);
/**
 * Output `index` of the last successful run (graph output order), borrowed:
 * valid until the next nn_session_run() or nn_session_free(). NULL if there
 * is no such output.
 */
NN_API const nn_tensor *nn_session_output(const nn_session *session, uint32_t index);

/* ---- Freezing and learn-rate factors ------------------------------------ */

/**
 * Every float initializer of a model is a parameter with a learn-rate factor
 * (MATLAB's WeightLearnRateFactor/BiasLearnRateFactor): 0 = frozen, 1 =
 * normal (the default), any other value scales the trainer's learning rate
 * for that parameter. A layer is "parameterized" when it reads at least one
 * parameter. Training computes no gradient, and keeps no gradient buffer, for
 * frozen parameters or for the layers before the earliest trainable one.
 * These calls change the model: they need exclusive access to it. A trainer
 * notices the change at its next step.
 */

/** Which layers nn_freeze()/nn_unfreeze() select. @since 1.0 */
enum {
    NN_SELECT_ALL = 0,     /**< every parameter (`name`, `count` unused); freezing all keeps a head made by nn_replace_head() trainable */
    NN_SELECT_FIRST = 1,   /**< the first `count` parameterized layers in topological order */
    NN_SELECT_LAYER = 2,   /**< the layer named `name` */
    NN_SELECT_PATTERN = 3  /**< layers whose name matches the shell pattern `name` (fnmatch: * ? [...]) */
};

/**
 * Freeze (learn-rate factor 0) the parameters of the selected layers.
 * @param select NN_SELECT_*
 * @param name   layer name or pattern (NN_SELECT_LAYER, NN_SELECT_PATTERN), else unused (may be NULL)
 * @param count  number of layers (NN_SELECT_FIRST; more than the model has selects all), else unused
 * @return NN_OK; NN_E_NOT_FOUND (no layer of that name; a pattern matching no
 *         parameterized layer), NN_E_INVALID_ARG
 * @since 1.0
 */
NN_API nn_status nn_freeze(nn_model *model, int32_t select, const char *name, uint32_t count);
/** Set the learn-rate factor of the selected layers' parameters back to 1 (arguments as nn_freeze()). @since 1.0 */
NN_API nn_status nn_unfreeze(nn_model *model, int32_t select, const char *name, uint32_t count);
/**
 * Set the learn-rate factor of one parameter (an initializer name, e.g.
 * "fc.weight"). `factor` must be finite and >= 0.
 * @return NN_OK; NN_E_NOT_FOUND (no parameter of that name), NN_E_INVALID_ARG
 * @since 1.0
 */
NN_API nn_status nn_set_learn_rate_factor(nn_model *model, const char *param, float factor);
/** Read the learn-rate factor of parameter `param`. @since 1.0 */
NN_API nn_status nn_get_learn_rate_factor(const nn_model *model, const char *param, float *factor);
/**
 * Set the factors of a layer's parameters as MATLAB does per layer: its first
 * parameter input (Conv/Gemm/MatMul weights, BatchNormalization scale) gets
 * `weight_factor`, the later ones (biases, BatchNormalization B) `bias_factor`.
 * @return NN_OK; NN_E_NOT_FOUND (no such layer, or it has no parameters), NN_E_INVALID_ARG
 * @since 1.0
 */
NN_API nn_status nn_set_layer_learn_rate_factors(nn_model *model, const char *layer, float weight_factor,
                                                 float bias_factor);
/** Number of parameters (elements) whose learn-rate factor is not 0. @since 1.0 */
NN_API uint64_t nn_model_trainable_param_count(const nn_model *model);
/**
 * Deep copy of a model (graph, weights, metadata, learn-rate factors), e.g.
 * to keep running inference on one copy in other threads while a trainer
 * changes the other. Reads `model` only.
 * @since 1.0
 */
NN_API nn_status nn_model_clone(const nn_model *model, nn_model **out);

/* ---- Training ----------------------------------------------------------- */

/**
 * A trainer fine-tunes one model in place: nn_train_step() runs the forward
 * pass in training mode, the loss (softmax cross-entropy on the logits),
 * the backward pass over the layers between the trainable parameters and
 * the loss, and an optimizer update of the model's parameter tensors.
 * The model must outlive the trainer. A trainer and its model are used by one
 * thread at a time, and no session may run that model during a step (clone
 * the model with nn_model_clone() to run inference elsewhere meanwhile).
 * Changing the learn-rate factors between steps is fine; editing the graph
 * (new head, new input) needs a new trainer.
 */
typedef struct nn_trainer nn_trainer;

/** Optimizers. @since 1.0 */
enum {
    NN_OPTIMIZER_SGD = 0,   /**< SGD with optional momentum / Nesterov, L2 weight decay (as torch.optim.SGD) */
    NN_OPTIMIZER_ADAM = 1,  /**< Adam, L2 weight decay added to the gradient (as torch.optim.Adam) */
    NN_OPTIMIZER_ADAMW = 2  /**< Adam with decoupled weight decay (as torch.optim.AdamW) */
};

/** Learning-rate schedules, over optimizer steps. @since 1.0 */
enum {
    NN_LR_CONSTANT = 0,
    NN_LR_STEP = 1,        /**< lr * gamma^floor(step / lr_step_size) */
    NN_LR_COSINE = 2       /**< lr_min + (lr - lr_min) * (1 + cos(pi * min(step, T) / T)) / 2, T = lr_total_steps */
};

/** BatchNormalization during training. @since 1.0 */
enum {
    NN_BN_FROZEN = 0,      /**< use and keep the running statistics (inference behaviour) */
    NN_BN_TRAIN = 1        /**< batch statistics; running statistics updated (momentum from the model) */
};

#define NN_TRAINER_OPTIONS_VERSION 1
/**
 * Trainer options. Initialise with nn_trainer_options_init(); the defaults
 * are those listed. A BatchNormalization layer whose parameters are frozen
 * always uses and keeps its running statistics, whatever `batchnorm` says.
 * @since 1.0
 */
typedef struct nn_trainer_options {
    uint32_t version;          /**< NN_TRAINER_OPTIONS_VERSION */
    int32_t optimizer;         /**< NN_OPTIMIZER_*, default SGD */
    float learning_rate;       /**< default 0.01 */
    float momentum;            /**< SGD momentum, default 0.9 (0 = plain SGD) */
    int32_t nesterov;          /**< SGD: 1 = Nesterov momentum; default 0 */
    float beta1, beta2;        /**< Adam: default 0.9, 0.999 */
    float epsilon;             /**< Adam: default 1e-8 */
    float weight_decay;        /**< default 0 */
    int32_t lr_schedule;       /**< NN_LR_*, default constant */
    uint32_t lr_step_size;     /**< NN_LR_STEP: steps between decays (>= 1) */
    float lr_gamma;            /**< NN_LR_STEP: decay factor, default 0.1 */
    uint32_t lr_total_steps;   /**< NN_LR_COSINE: steps of the half period (>= 1) */
    float lr_min;              /**< NN_LR_COSINE: final learning rate, default 0 */
    float clip_norm;           /**< clip the global gradient norm to this; 0 = off (default) */
    float label_smoothing;     /**< in [0, 1); default 0 */
    int32_t batchnorm;         /**< NN_BN_*, default NN_BN_FROZEN */
    int32_t num_threads;       /**< 0 = all cores, 1 = the caller's thread only */
    uint32_t output_index;     /**< graph output holding the class scores, default 0; when it is produced
                                    by a Softmax/LogSoftmax node, training uses that node's input */
    uint64_t seed;             /**< seeds Dropout masks; same seed, data and threads = same results */
    uint64_t cache_max_bytes;  /**< nn_train_step_cached: memory for cached activations; 0 = 1 GiB */
    const char *cache_path;    /**< nn_train_step_cached: a file for activations beyond the memory cap
                                    (created, removed by nn_trainer_free); NULL = memory only. Copied. */
    uint64_t cache_disk_max_bytes; /**< cap of that file; 0 = 16 GiB */
} nn_trainer_options;

/** Fill `options` with defaults for the given struct version. @since 1.0 */
NN_API nn_status nn_trainer_options_init(nn_trainer_options *options, uint32_t version);
/**
 * Create a trainer for `model` (kept, not owned: it must outlive the trainer).
 * Checks that every layer between a trainable parameter and the loss has a
 * backward pass.
 * @return NN_OK; NN_E_INVALID_ARG (bad option, output index), NN_E_UNSUPPORTED
 *         (names a layer nn cannot train through), NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_trainer_create(nn_model *model, const nn_trainer_options *options, nn_trainer **out);
/** Free a trainer (its optimizer state and caches). NULL is a no-op. @since 1.0 */
NN_API void nn_trainer_free(nn_trainer *trainer);
/**
 * Weight the loss of each class (the weighted classification layer):
 * loss = sum_i w[y_i] * CE_i / sum_i w[y_i]. `weights` (copied) has one
 * value >= 0 per class; NULL or count 0 removes the weights.
 * @return NN_OK; NN_E_INVALID_ARG; the count is checked against the
 *         model's class count at the next step (NN_E_SHAPE)
 * @since 1.0
 */
NN_API nn_status nn_trainer_set_class_weights(nn_trainer *trainer, const float *weights, uint32_t count);
/**
 * "auto" class weights: inverse class frequency, w[k] = total / (classes *
 * counts[k]) (1 for a class with no samples), written to `weights`.
 * @since 1.0
 */
NN_API nn_status nn_class_weights_from_counts(const uint64_t *counts, uint32_t classes, float *weights);
/** Override the base learning rate (the schedule scales it from now on). @since 1.0 */
NN_API nn_status nn_trainer_set_learning_rate(nn_trainer *trainer, float learning_rate);
/** Learning rate the next step will use (after the schedule); 0 for NULL. @since 1.0 */
NN_API float nn_trainer_learning_rate(const nn_trainer *trainer);
/** Number of optimizer steps taken. @since 1.0 */
NN_API uint64_t nn_trainer_step_count(const nn_trainer *trainer);
/** Fraction of the last step's batch whose top class was the label, in [0, 1]; -1 before any step. @since 1.0 */
NN_API float nn_trainer_accuracy(const nn_trainer *trainer);

/**
 * One training step on a batch.
 * @param model   the trainer's model (parameters are updated in place)
 * @param input   float32 batch for the model's single input: [N, ...] with
 *                the model's rank; every dimension but the first must fit the
 *                model's fixed ones (the batch size may differ from the model's)
 * @param labels  int64 (or int32) class indices [N]
 * @param loss    receives the batch's mean loss (may be NULL)
 * @return NN_OK; NN_E_INVALID_ARG (wrong model, NULL, a label out of range),
 *         NN_E_TYPE, NN_E_SHAPE, NN_E_UNSUPPORTED (a layer without backward),
 *         NN_E_NOMEM, an operator's failure. On failure the model is left as
 *         it was (parameters and BatchNormalization running statistics) and
 *         the trainer can take the next step.
 * @since 1.0
 */
NN_API nn_status nn_train_step(nn_model *model, nn_trainer *trainer, const nn_tensor *input, const nn_tensor *labels,
                               float *loss);
/**
 * nn_train_step() with a frozen-prefix cache: when the layers before some cut
 * are all frozen and deterministic (no Dropout, no training-mode
 * BatchNormalization), their outputs for each sample are kept under the
 * caller's `sample_ids` (one per batch row; the same id must always mean the
 * same input), and a batch whose samples are all cached runs only the
 * trainable part. Do not use it with random augmentation. Falls back to
 * nn_train_step() when nothing can be cached. The cache is dropped when the
 * freezing or the input shape changes; after changing frozen parameters
 * yourself (nn_model_set_param), call nn_trainer_clear_cache().
 * @since 1.0
 */
NN_API nn_status nn_train_step_cached(nn_model *model, nn_trainer *trainer, const nn_tensor *input,
                                      const uint64_t *sample_ids, const nn_tensor *labels, float *loss);
/** Forget every cached activation (memory and file). @since 1.0 */
NN_API nn_status nn_trainer_clear_cache(nn_trainer *trainer);

#define NN_TRAINER_STATS_VERSION 1
/** Counters of a trainer, for benchmarks and tests. @since 1.0 */
typedef struct nn_trainer_stats {
    uint32_t version;             /**< NN_TRAINER_STATS_VERSION, set by the caller */
    uint32_t backward_layers;     /**< layers with a backward pass in the current plan */
    uint32_t gradient_buffers;    /**< gradient tensors in the current plan (activations and parameters) */
    uint32_t trainable_params;    /**< parameter tensors updated by each step */
    uint64_t gradient_bytes;      /**< bytes of those gradient tensors */
    uint64_t arena_bytes;         /**< activations + gradients memory of the current plan */
    uint64_t backward_calls;      /**< backward passes run so far (summed over steps) */
    uint64_t cache_hits;          /**< batches that skipped the frozen prefix */
    uint64_t cache_misses;        /**< batches that ran it (and filled the cache) */
    uint64_t cache_memory_bytes;  /**< activations cached in memory */
    uint64_t cache_disk_bytes;    /**< activations cached in the file */
    uint32_t prefix_layers;       /**< layers of the cacheable frozen prefix (0 = nothing to cache) */
    uint32_t reserved_u32;
} nn_trainer_stats;

/** Fill `stats` (its version set by the caller). @since 1.0 */
NN_API nn_status nn_trainer_get_stats(const nn_trainer *trainer, nn_trainer_stats *stats);

/* ---- Capabilities ------------------------------------------------------- */

/** Number of ONNX operators (default domain) this library implements. */
NN_API uint32_t nn_supported_op_count(void);
/** Name of supported operator `index` (sorted by name), or NULL if out of range. Static storage. */
NN_API const char *nn_supported_op_name(uint32_t index);

/** Release memory allocated by nn for the caller (where a call says so). */
NN_API void nn_free(void *ptr);

/* ---- Images ------------------------------------------------------------- */

/**
 * A decoded image: width x height pixels of 1 (gray), 2 (gray+alpha),
 * 3 (RGB) or 4 (RGBA) interleaved channels, 8-bit (NN_DTYPE_UINT8) or
 * 16-bit (NN_DTYPE_UINT16, native byte order) samples, rows packed without
 * padding, top row first. Images are immutable for nn: operations return new
 * images, so one image may be read by several threads at once.
 * @since 1.0
 */
typedef struct nn_image nn_image;

/** Pixel budget used when nn_image_options.max_pixels is 0: 64 megapixels. @since 1.0 */
#define NN_IMAGE_DEFAULT_MAX_PIXELS 64000000u

#define NN_IMAGE_OPTIONS_VERSION 1
/** Options for nn_image_load*(). Initialise with nn_image_options_init(). @since 1.0 */
typedef struct nn_image_options {
    uint32_t version;           /**< NN_IMAGE_OPTIONS_VERSION */
    int32_t apply_orientation;  /**< 1 (default): turn JPEGs upright per their EXIF orientation; 0: as stored */
    uint64_t max_pixels;        /**< refuse images with more pixels (width*height) before decoding them;
                                     0 = NN_IMAGE_DEFAULT_MAX_PIXELS */
    uint64_t max_file_bytes;    /**< refuse larger files; 0 = default (1 GiB) */
} nn_image_options;

/** Fill `options` with defaults for the given struct version. @since 1.0 */
NN_API nn_status nn_image_options_init(nn_image_options *options, uint32_t version);

/**
 * Decode a PNG or JPEG file (the format is detected from its first bytes).
 * PNG (libpng): gray, gray+alpha, RGB, RGBA at 8 or 16 bits, gray at 1/2/4
 * bits (scaled to 8), palette (expanded to RGB, or RGBA when it has
 * transparency), interlaced or not; 16-bit samples are kept as UINT16.
 * JPEG (libjpeg-turbo): baseline, progressive, gray and color (RGB out); CMYK
 * (and YCCK) converted to RGB; the EXIF orientation is applied unless the
 * options say not to. The pixel budget is checked from the header, before any
 * pixel memory is allocated.
 * @param path    image file
 * @param options NULL for defaults
 * @param out     receives the image; free with nn_image_free()
 * @return NN_OK; NN_E_IO (cannot open/read), NN_E_PARSE (not a PNG/JPEG,
 *         truncated or corrupt data, zero width or height: the message names
 *         the file and the reason), NN_E_LIMIT (over the pixel or file-size
 *         budget), NN_E_NOMEM, NN_E_INVALID_ARG
 * @since 1.0
 */
NN_API nn_status nn_image_load(const char *path, const nn_image_options *options, nn_image **out);
/** Decode a PNG or JPEG held in memory (read during the call only). @since 1.0 */
NN_API nn_status nn_image_load_memory(const void *data, size_t size, const nn_image_options *options, nn_image **out);
/**
 * Create an image from caller pixels (copied), e.g. a camera frame.
 * @param channels 1..4 (gray, gray+alpha, RGB, RGBA)
 * @param dtype    NN_DTYPE_UINT8 or NN_DTYPE_UINT16
 * @param pixels   width*height*channels packed samples, or NULL for black
 * @since 1.0
 */
NN_API nn_status nn_image_create(int32_t width, int32_t height, int32_t channels, nn_dtype dtype, const void *pixels,
                                 nn_image **out);
/** Free an image. NULL is a no-op. @since 1.0 */
NN_API void nn_image_free(nn_image *image);
/** Width in pixels (0 for NULL). @since 1.0 */
NN_API int32_t nn_image_width(const nn_image *image);
/** Height in pixels (0 for NULL). @since 1.0 */
NN_API int32_t nn_image_height(const nn_image *image);
/** Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (0 for NULL). @since 1.0 */
NN_API int32_t nn_image_channels(const nn_image *image);
/** NN_DTYPE_UINT8 or NN_DTYPE_UINT16 (NN_DTYPE_UNDEFINED for NULL). @since 1.0 */
NN_API nn_dtype nn_image_dtype(const nn_image *image);
/** The pixels (see nn_image), borrowed: valid until the image is freed. @since 1.0 */
NN_API const void *nn_image_data(const nn_image *image);

/** Resampling filters. @since 1.0 */
enum {
    NN_FILTER_BILINEAR = 0, /**< triangle filter, widened when shrinking (antialiased), like Pillow's BILINEAR */
    NN_FILTER_NEAREST = 1   /**< nearest neighbour, sampling pixel centres like Pillow's NEAREST */
};

/**
 * Resample `image` to width x height (each >= 1). Channels are filtered
 * independently (alpha is not premultiplied); results are rounded to the
 * image's sample type.
 * @param filter NN_FILTER_*
 * @since 1.0
 */
NN_API nn_status nn_image_resize(const nn_image *image, int32_t width, int32_t height, int32_t filter, nn_image **out);
/** Copy the width x height rectangle at (x, y), which must lie inside the image. @since 1.0 */
NN_API nn_status nn_image_crop(const nn_image *image, int32_t x, int32_t y, int32_t width, int32_t height,
                               nn_image **out);
/**
 * Convert to `channels` (1..4) keeping the sample type: gray is replicated
 * into R, G and B; colour becomes gray as L = 0.299 R + 0.587 G + 0.114 B
 * (ITU-R 601, as Pillow's convert("L")); alpha is dropped, or set opaque when
 * added.
 * @since 1.0
 */
NN_API nn_status nn_image_convert(const nn_image *image, int32_t channels, nn_image **out);

/* ---- Preprocessing: images to the tensor a model expects ---------------- */

/** Channel layout of the model's input (metadata nn.input.color). @since 1.0 */
enum {
    NN_COLOR_AUTO = 0, /**< the model's nn.input.color; else GRAY for 1 input channel, RGB for 3 */
    NN_COLOR_RGB = 1,
    NN_COLOR_BGR = 2,
    NN_COLOR_GRAY = 3
};

/** How an image is fitted to the input size (metadata nn.input.resize). @since 1.0 */
enum {
    NN_RESIZE_AUTO = 0,        /**< the model's nn.input.resize; else STRETCH */
    NN_RESIZE_STRETCH = 1,     /**< resize to exactly the input size, ignoring the aspect ratio */
    NN_RESIZE_LETTERBOX = 2,   /**< keep the aspect ratio, fit inside, pad the borders (centred) */
    NN_RESIZE_CENTER_CROP = 3  /**< keep the aspect ratio, cover the input, crop the centre */
};

#define NN_PREPROCESS_OPTIONS_VERSION 1
/**
 * How images become a float tensor. Every AUTO/0 field falls back to the
 * model's metadata (see docs/metadata.md), then to the defaults: RGB,
 * stretch, mean 0, std 1. Initialise with nn_preprocess_options_init().
 * @since 1.0
 */
typedef struct nn_preprocess_options {
    uint32_t version;     /**< NN_PREPROCESS_OPTIONS_VERSION */
    int32_t color;        /**< NN_COLOR_* */
    int32_t resize;       /**< NN_RESIZE_* */
    int32_t filter;       /**< NN_FILTER_*, default bilinear */
    int32_t width;        /**< input width where the model's is symbolic (or no model); 0 = the image's */
    int32_t height;       /**< input height, likewise */
    int32_t n_mean;       /**< values used from mean[]: 0 = the model's nn.input.mean, 1 = one for every
                               channel, else one per channel (up to 4) */
    int32_t n_std;        /**< likewise for std[] and nn.input.std */
    float mean[4];        /**< subtracted from each channel, on the 0-1 pixel scale */
    float std[4];         /**< then divided by (must be non-zero) */
    float pad_value;      /**< letterbox padding on the 0-1 scale before mean/std; default 114/255 */
    float crop_fraction;  /**< center-crop keeps this fraction of the covering resize, in (0,1]; default 1 */
} nn_preprocess_options;

/** Fill `options` with defaults (all AUTO) for the given struct version. @since 1.0 */
NN_API nn_status nn_preprocess_options_init(nn_preprocess_options *options, uint32_t version);

/**
 * Build the input tensor a model expects from `count` images: per image,
 * convert the colour (alpha dropped), fit it to the input size (bilinear
 * with antialiasing, or nearest), scale samples to 0-1, subtract the mean and
 * divide by the std per channel, and write it planar into a float32
 * [count, C, H, W] tensor.
 * The shape comes from the model's first input (rank 4, NCHW, float32): a
 * fixed N must equal `count`; a fixed C (1 or 3) must fit the colour layout;
 * symbolic H/W take options->width/height, else the first image's size.
 * With `model` NULL, everything comes from `options` (AUTO colour = RGB).
 * @param model   model whose input and metadata to follow, or NULL
 * @param images  `count` images (count >= 1), read during the call only
 * @param options NULL for the model's contract as is
 * @param out     receives a new tensor; free with nn_tensor_free()
 * @return NN_OK; NN_E_INVALID_ARG (bad option), NN_E_INVALID_MODEL (bad
 *         nn.input.* metadata), NN_E_SHAPE / NN_E_TYPE (the model's input is
 *         not an image tensor this fits), NN_E_LIMIT, NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_image_to_tensor(const nn_model *model, const nn_image *const *images, uint32_t count,
                                    const nn_preprocess_options *options, nn_tensor **out);

/* ---- Classification ----------------------------------------------------- */

/** The top-k classes of each image of an nn_classify() call. @since 1.0 */
typedef struct nn_classification nn_classification;

/** Whether nn_classify() applies a softmax to the scores. @since 1.0 */
enum {
    NN_SOFTMAX_AUTO = 0,   /**< unless the model's output is produced by a Softmax node */
    NN_SOFTMAX_ALWAYS = 1,
    NN_SOFTMAX_NEVER = 2   /**< report the raw output values */
};

#define NN_CLASSIFY_OPTIONS_VERSION 1
/** Options for nn_classify(). Initialise with nn_classify_options_init(). @since 1.0 */
typedef struct nn_classify_options {
    uint32_t version;        /**< NN_CLASSIFY_OPTIONS_VERSION */
    int32_t softmax;         /**< NN_SOFTMAX_* */
    uint32_t output_index;   /**< model output holding the class scores; default 0 */
    uint32_t reserved_u32;   /**< must be 0 */
    const char *labels;      /**< class names separated by newlines, overriding the model's nn.labels;
                                  NULL = the model's (copied during the call) */
    const nn_preprocess_options *preprocess; /**< NULL = the model's contract */
} nn_classify_options;

/** Fill `options` with defaults for the given struct version. @since 1.0 */
NN_API nn_status nn_classify_options_init(nn_classify_options *options, uint32_t version);

/**
 * Classify images with a model: preprocess them per the model's contract
 * (nn_image_to_tensor() with options->preprocess), run `session`, turn the
 * scores into probabilities (see nn_classify_options.softmax) and keep the
 * top `k` classes of each image, best first (ties: lower index first).
 * The images run as one batch when the model's batch dimension is symbolic,
 * else in batches of its fixed N (count must be a multiple of N). The output
 * must hold (images in the batch) x classes values.
 * Thread safety: as nn_session_run() — one thread per session; the model
 * may be shared.
 * @param session session of the model (its outputs are overwritten)
 * @param images  `count` images (count >= 1)
 * @param k       classes kept per image; 0 = all (k larger than the number
 *                of classes keeps all)
 * @param options NULL for defaults
 * @param out     receives the result; free with nn_classification_free()
 * @return NN_OK; NN_E_INVALID_ARG, NN_E_INVALID_MODEL (nn.labels does not
 *         match the number of classes), the errors of nn_image_to_tensor()
 *         and nn_session_run()
 * @since 1.0
 */
NN_API nn_status nn_classify(nn_session *session, const nn_image *const *images, uint32_t count, uint32_t k,
                             const nn_classify_options *options, nn_classification **out);
/** Free a result. NULL is a no-op. @since 1.0 */
NN_API void nn_classification_free(nn_classification *result);
/** Number of images the result covers (0 for NULL). @since 1.0 */
NN_API uint32_t nn_classification_image_count(const nn_classification *result);
/** Number of classes the model scores (0 for NULL). @since 1.0 */
NN_API uint32_t nn_classification_class_count(const nn_classification *result);
/** Entries kept for image `image`: min(k, classes); 0 if out of range. @since 1.0 */
NN_API uint32_t nn_classification_count(const nn_classification *result, uint32_t image);
/**
 * Entry `rank` (0 = best) of image `image`. Any out pointer may be NULL.
 * @param index receives the class index in the model's output
 * @param score receives the probability (or raw score with NN_SOFTMAX_NEVER)
 * @param label receives the class name, borrowed (valid until the result is
 *              freed); "" when there are no labels
 * @return NN_OK or NN_E_INVALID_ARG (NULL result, image or rank out of range)
 * @since 1.0
 */
NN_API nn_status nn_classification_get(const nn_classification *result, uint32_t image, uint32_t rank,
                                       uint32_t *index, float *score, const char **label);

/* ---- Editing and saving models ----------------------------------------- */

/*
 * Functions that change a model need exclusive access to it, and every
 * session of the model must be freed first (sessions keep pointers into the
 * graph); nn_model_set_param() only needs no session to be running.
 * A failed edit leaves the model unchanged.
 */

/**
 * Write the model as ONNX to `path`: its live layers with their attributes,
 * every tensor they read as an initializer (raw_data; constants nn folded at
 * load included), the graph inputs and outputs with types and shapes
 * (symbolic dimensions kept by name), the model's default-domain opset with
 * the IR version ONNX released it with (e.g. opset 13 -> IR 7, 17 -> IR 8),
 * producer "nn" and all metadata (nn_model_set_metadata() changes included).
 * The file is written to a temporary file in the same folder, synced, and
 * renamed over `path`: an existing file is replaced whole or not at all.
 * @return NN_OK, NN_E_INVALID_ARG, NN_E_IO (folder not writable, disk full;
 *         the old file is intact and no temporary is left), NN_E_NOMEM,
 *         NN_E_UNSUPPORTED (an attribute kind nn cannot write, e.g. a subgraph)
 * @since 1.0
 */
NN_API nn_status nn_model_save(const nn_model *model, const char *path);
/**
 * Serialize the model as ONNX (the bytes nn_model_save() writes) into a new
 * buffer; release `*data` with nn_free(). On failure `*data` is NULL.
 * @since 1.0
 */
NN_API nn_status nn_model_save_memory(const nn_model *model, void **data, size_t *size);

/**
 * Set metadata_props key `key` to `value` (both copied), replacing an
 * existing value; `value` NULL removes the key. Keys nn reads are documented
 * in docs/ (nn.labels, nn.input.*). Invalidates strings previously returned
 * by nn_model_metadata() for that key.
 * @return NN_OK, NN_E_INVALID_ARG (NULL model or key, empty key), NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_model_set_metadata(nn_model *model, const char *key, const char *value);
/** Number of metadata entries. @since 1.0 */
NN_API uint32_t nn_model_metadata_count(const nn_model *model);
/**
 * Metadata entry `index` (in file order): key and value, borrowed until the
 * model is freed or its metadata changes. Either out pointer may be NULL.
 * @since 1.0
 */
NN_API nn_status nn_model_metadata_at(const nn_model *model, uint32_t index, const char **key, const char **value);

/* -- Parameters: the tensors the layers read (weights, biases, running
 *    statistics, other initializers and the constants nn folded from them;
 *    not the constants computed from input shapes). -- */

/** The parameter is trained by default (a float initializer that is not a BatchNormalization running statistic). */
#define NN_PARAM_TRAINABLE 0x1u
/** The parameter was created by nn_replace_head() (a full freeze leaves it trainable). */
#define NN_PARAM_NEW_HEAD 0x2u

/** Number of parameter tensors (see nn_model_param_count() for the number of trainable elements). @since 1.0 */
NN_API uint32_t nn_model_param_tensor_count(const nn_model *model);
/**
 * Describe parameter `index` (0 .. nn_model_param_tensor_count()-1, in a
 * stable order until the model is edited): its name (borrowed), element
 * type, rank, dimensions (`dims` receives `rank` values; pass an array of
 * NN_MAX_RANK) and NN_PARAM_* flags. Any out pointer may be NULL.
 * @since 1.0
 */
NN_API nn_status nn_model_param_info(const nn_model *model, uint32_t index, const char **name, nn_dtype *dtype,
                                     int32_t *rank, int64_t *dims, uint32_t *flags);
/**
 * Copy parameter `name` into a new tensor (`*out`, free with
 * nn_tensor_free()). A copy, so it stays valid and unchanged whatever
 * happens to the model; write values back with nn_model_set_param().
 * @return NN_OK, NN_E_INVALID_ARG, NN_E_NOT_FOUND (no parameter of that name), NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_model_get_param(const nn_model *model, const char *name, nn_tensor **out);
/**
 * Overwrite parameter `name` with the values of `tensor` (copied; nn keeps
 * no pointer to it). The element type and shape must be the parameter's:
 * this sets weights (assembling a network from known weights), it does not
 * change the architecture. Sessions created earlier see the new values; no
 * session may be running during the call.
 * @return NN_OK, NN_E_INVALID_ARG, NN_E_NOT_FOUND (no parameter of that
 *         name, e.g. a computed value), NN_E_TYPE, NN_E_SHAPE
 * @since 1.0
 */
NN_API nn_status nn_model_set_param(nn_model *model, const char *name, const nn_tensor *tensor);

/* -- Changing the input ------------------------------------------------- */

#define NN_REPLACE_INPUT_OPTIONS_VERSION 1
/** Options for nn_replace_input(). Initialise with nn_replace_input_options_init(). */
typedef struct nn_replace_input_options {
    uint32_t version;       /**< NN_REPLACE_INPUT_OPTIONS_VERSION */
    int32_t channel_axis;   /**< axis of the channels (default 1: NCHW); negative counts from the end */
} nn_replace_input_options;

/** Fill `options` with defaults for the given struct version. @since 1.0 */
NN_API nn_status nn_replace_input_options_init(nn_replace_input_options *options, uint32_t version);

/**
 * Give graph input `input_name` new dimensions and adapt the model to them:
 * the seed's "change the model, not the data".
 *  - `rank` must be the input's rank; `dims[i]` > 0 sets dimension i, -1
 *    keeps it (fixed or symbolic, e.g. the batch).
 *  - Spatial sizes: shapes are re-inferred through the whole graph,
 *    including shape computations nn folded at load. A layer that cannot
 *    take the new size (e.g. Flatten -> Gemm with a fixed width, a Reshape to
 *    a constant shape) makes the call fail with NN_E_SHAPE naming it.
 *  - Channels (the dimension at `channel_axis`): every layer reading the
 *    input must be a Conv (group 1). C -> 1 sums its weights over the input
 *    channels, so a one-channel image gives exactly the output of its
 *    replicated C-channel version; 1 -> C divides them by C (replicated).
 *    Other changes are NN_E_UNSUPPORTED. Metadata follows: nn.input.color
 *    becomes GRAY (1 channel) or RGB (1 -> 3), nn.input.mean/std lists are
 *    averaged (C -> 1; exact when the channels share them) or replicated.
 * With a symbolic dimension left, the graph is checked with it taken as 1.
 * @param options NULL for defaults
 * @return NN_OK, NN_E_INVALID_ARG, NN_E_NOT_FOUND (no such input),
 *         NN_E_SHAPE, NN_E_UNSUPPORTED, NN_E_NOMEM; on failure the model is unchanged
 * @since 1.0
 */
NN_API nn_status nn_replace_input(nn_model *model, const char *input_name, int32_t rank, const int64_t *dims,
                                  const nn_replace_input_options *options);

/* -- Replacing the classifier head -------------------------------------- */

/**
 * Replace the final classifier with a fresh one of `num_classes` outputs.
 * The classifier is found walking back from the first graph output through
 * Softmax, LogSoftmax, Flatten, Reshape, Squeeze, Identity, Dropout, Relu,
 * GlobalAveragePool, AveragePool and ReduceMean: a Gemm, a MatMul (+ Add of
 * a bias), or a 1x1 Conv (SqueezeNet/DarkNet style). Its weight and bias get
 * new tensors, Xavier/Glorot-uniform weights U(-a, a), a = sqrt(6 /
 * (fan_in + num_classes)), and zero biases, drawn from `seed` (same seed,
 * same weights); the layers after it are kept and shapes re-inferred (a
 * Reshape to a constant shape holding the old class count is updated). The
 * new tensors are flagged NN_PARAM_NEW_HEAD.
 * @param labels   `n_labels` class names stored (copied) as nn.labels, one
 *                 per class, no newlines; NULL/0 removes nn.labels
 * @return NN_OK, NN_E_INVALID_ARG (num_classes < 1, label count or content),
 *         NN_E_UNSUPPORTED (no classifier found, the message says what was
 *         found instead; a detection model, i.e. one with nn.detect.family
 *         metadata), NN_E_SHAPE, NN_E_NOMEM; on failure the model is unchanged
 * @since 1.0
 */
NN_API nn_status nn_replace_head(nn_model *model, int32_t num_classes, const char *const *labels, uint32_t n_labels,
                                 uint64_t seed);

/* -- Building a model from layers -------------------------------------- */

/**
 * A model under construction (the seed's "create a network from layers and
 * weights without training"): add inputs, parameters, ONNX nodes in
 * order and outputs, then nn_builder_finish() checks and compiles it into an
 * nn_model that runs, trains and saves like a loaded one.
 */
typedef struct nn_builder nn_builder;

/**
 * Start a model using the default-domain ONNX `opset` (1..21: operator
 * semantics and attribute forms follow that opset, as in a loaded file).
 * @since 1.0
 */
NN_API nn_status nn_builder_create(int64_t opset, nn_builder **out);
/** Free a builder (and everything added, unless finished). NULL is a no-op. @since 1.0 */
NN_API void nn_builder_free(nn_builder *builder);
/**
 * Add a graph input the caller feeds. `dims[i]` -1 is a symbolic dimension,
 * named `dim_names[i]` when `dim_names` is non-NULL and that entry is too.
 * @return NN_OK, NN_E_INVALID_ARG (a name already used, bad rank/dims), NN_E_STATE (finished), NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_builder_add_input(nn_builder *builder, const char *name, nn_dtype dtype, int32_t rank,
                                      const int64_t *dims, const char *const *dim_names);
/**
 * Add a parameter (initializer) named `name` with the values of `tensor`
 * (copied). Float32 parameters are trainable.
 * @since 1.0
 */
NN_API nn_status nn_builder_add_param(nn_builder *builder, const char *name, const nn_tensor *tensor);
/**
 * Append an ONNX node. Every input must already exist (an input, a parameter
 * or an earlier node's output; "" marks an absent optional input); outputs
 * must be new names. Attributes are strings "name=value" or
 * "name:type=value" with type i, f, s, ints, floats or strings; without a
 * type, "3" is an int, "0.5" a float, "3,3" ints, "0.5,1" floats, anything
 * else a string (give the type for a one-element list or an integral float,
 * e.g. "axes:ints=1", "alpha:f=1").
 * @param name node name; NULL or "" names it after its op and position
 * @return NN_OK, NN_E_UNSUPPORTED (op nn does not implement), NN_E_NOT_FOUND
 *         (an input that does not exist yet), NN_E_INVALID_ARG (a malformed
 *         attribute, a reused output name), NN_E_STATE, NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_builder_add_node(nn_builder *builder, const char *op_type, const char *name, uint32_t n_inputs,
                                     const char *const *inputs, uint32_t n_outputs, const char *const *outputs,
                                     uint32_t n_attrs, const char *const *attrs);
/** Mark an existing value as a graph output (in call order). @since 1.0 */
NN_API nn_status nn_builder_add_output(nn_builder *builder, const char *name);
/**
 * Check and compile the graph into a model (free with nn_model_free()). The
 * operators validate their attributes and shapes as when loading a file
 * (NN_E_INVALID_MODEL, NN_E_SHAPE naming the node). Success or not, the
 * builder is spent: only nn_builder_free() remains.
 * @since 1.0
 */
NN_API nn_status nn_builder_finish(nn_builder *builder, nn_model **out);
/* ---- Object detection --------------------------------------------------- */

/**
 * Detector families: how a model's outputs are read (metadata
 * nn.detect.family; see docs/detection.md for every nn.detect.* key).
 * @since 1.0
 */
enum {
    NN_DETECT_AUTO = 0,   /**< the model's nn.detect.family, else guessed from its outputs */
    NN_DETECT_YOLOV2 = 1, /**< one region output [1, A*(5+C), H, W]: sigmoid x, y, objectness, softmax
                               classes, anchors in grid cells (darknet [region]) */
    NN_DETECT_YOLOV3 = 2, /**< yolo heads [1, A*(5+C), H, W] (v3, v3-tiny): sigmoid x, y, objectness and
                               each class, anchors in input pixels chosen per head by masks (darknet [yolo]) */
    NN_DETECT_YOLOV5 = 3, /**< one output [1, N, 5+C]: centre x, y, width, height in input pixels,
                               objectness, class scores (already activated) */
    NN_DETECT_YOLOV8 = 4  /**< one output [1, 4+C, N]: centre x, y, width, height in input pixels, class
                               scores (already activated) */
};

/**
 * Write an image as a PNG file (gray, gray+alpha, RGB or RGBA; 8 or 16 bits),
 * e.g. an annotated detection result.
 * @return NN_OK; NN_E_UNSUPPORTED (the path does not end in .png), NN_E_IO
 *         (cannot create or write the file; a partial file is removed),
 *         NN_E_INVALID_ARG, NN_E_NOMEM
 * @since 1.0
 */
NN_API nn_status nn_image_save(const nn_image *image, const char *path);

/** The detections of one nn_detect() call. @since 1.0 */
typedef struct nn_detections nn_detections;

#define NN_DETECT_OPTIONS_VERSION 1
/** Options for nn_detect(). Initialise with nn_detect_options_init(). @since 1.0 */
typedef struct nn_detect_options {
    uint32_t version;         /**< NN_DETECT_OPTIONS_VERSION */
    int32_t family;           /**< NN_DETECT_*, default AUTO */
    float score_threshold;    /**< keep detections scoring above this, in [0, 1]; default 0.25. The score is
                                   objectness x class probability (YOLOv8: the class score); YOLOv2/v3 keep
                                   every class above it (a box may carry several), YOLOv5/v8 the best class */
    float iou_threshold;      /**< NMS: a box whose IoU with a better-scoring kept box is above this is
                                   dropped, in [0, 1]; default 0.45 */
    int32_t class_agnostic;   /**< 0 (default): NMS within each class; 1: across classes */
    uint32_t max_detections;  /**< keep the best this many; 0 = all; default 300 */
    int32_t input_width;      /**< network input width where the model's is symbolic; 0 = 640 */
    int32_t input_height;     /**< likewise the height */
    const char *labels;       /**< class names separated by newlines, overriding the model's nn.labels; NULL =
                                   the model's (copied during the call) */
    const nn_preprocess_options *preprocess; /**< NULL = the model's contract. A resize left AUTO is the
                                   model's nn.input.resize, else letterbox; darknet models (nn.detect.letterbox
                                   = darknet) then get darknet's exact letterbox and resampling */
} nn_detect_options;

/** Fill `options` with defaults for the given struct version. @since 1.0 */
NN_API nn_status nn_detect_options_init(nn_detect_options *options, uint32_t version);

/**
 * Detect objects in an image: preprocess it for the model (letterbox or
 * stretch, per the model's metadata and `options->preprocess`; models
 * imported from darknet get darknet's own letterbox and resampling), run
 * `session`, decode the outputs per family, map the boxes back to the
 * original image, apply NMS and keep the best `max_detections`.
 * Boxes are corners in the original image's pixels (x right, y down; the
 * image spans [0, width] x [0, height]), clamped to the image.
 * For darknet models (resize left AUTO, max_detections 0) the result equals
 * `darknet detector test` with `-thresh` = score_threshold and NMS 0.45.
 * Thread safety: as nn_session_run() — one thread per session.
 * @param session session of a detector model (its outputs are overwritten)
 * @param image   the image, read during the call only
 * @param options NULL for defaults
 * @param out     receives the result (possibly with 0 detections); free with
 *                nn_detections_free()
 * @return NN_OK; NN_E_INVALID_ARG (bad option, NULL argument), NN_E_INVALID_MODEL
 *         (bad nn.detect.* metadata, labels that do not match the classes, a
 *         family that cannot be told), NN_E_SHAPE / NN_E_TYPE (outputs that do
 *         not fit the family), NN_E_UNSUPPORTED (center-crop preprocessing),
 *         the errors of nn_image_to_tensor() and nn_session_run()
 * @since 1.0
 */
NN_API nn_status nn_detect(nn_session *session, const nn_image *image, const nn_detect_options *options,
                           nn_detections **out);
/** Free a result. NULL is a no-op. @since 1.0 */
NN_API void nn_detections_free(nn_detections *detections);
/** Number of detections, best first (0 for NULL). @since 1.0 */
NN_API uint32_t nn_detections_count(const nn_detections *detections);
/**
 * Detection `index` (0 = best score). Any out pointer may be NULL.
 * @param x0,y0 top-left corner, @param x1,y1 bottom-right corner, in the
 *        original image's pixels
 * @param score       objectness x class probability (see score_threshold)
 * @param class_index index of the class in the model's output
 * @param label       class name, borrowed (valid until the result is freed);
 *                    "" when there are no labels
 * @return NN_OK or NN_E_INVALID_ARG (NULL result, index out of range)
 * @since 1.0
 */
NN_API nn_status nn_detections_get(const nn_detections *detections, uint32_t index, float *x0, float *y0, float *x1,
                                   float *y1, float *score, uint32_t *class_index, const char **label);

#ifdef __cplusplus
}
#endif

#endif /* NN_H */
