/* ir_ops.h - the one table of IR operations.
 *
 * Columns: enum name, printed name, makes a buffer of its own (false for
 * views and for the function's inputs and the params, whose memory is
 * elsewhere), elementwise (fusible into a consumer's loop). */
#ifndef TDC_IR_OPS_H
#define TDC_IR_OPS_H

#define TDC_IR_OPS(X)                                                                             \
    X(INPUT, "input", false, false)        /* an argument of the exported function */             \
    X(PARAM, "param", false, false)        /* a param of the program */                           \
    X(VIEW, "view", false, false)          /* strides over a buffer: permute, split, merge, ... */ \
    X(COPY, "copy", true, false)           /* a view made contiguous */                           \
    X(MAP, "map", true, true)              /* an elementwise expression over broadcast inputs */  \
    X(REDUCE, "reduce", true, false)       /* sum, mean, max, min or prod over some axes */       \
    X(CONTRACT, "contract", true, false)   /* one pairwise contraction: a (batched) GEMM */       \
    X(GATHER, "gather", true, false)       /* rows of a table picked by an integer tensor */      \
    X(RANDOM, "random", true, false)       /* normal or uniform numbers from the model's RNG */          \
    X(SCATTER, "scatter", true, false)     /* zeros, with its input added in through a view */           \
    X(GATHER_GRAD, "gather_grad", true, false) /* zeros of a table's shape, rows added by index */

typedef enum {
#define X(id, name, buffer, elementwise) IR_##id,
    TDC_IR_OPS(X)
#undef X
    IR_OP_COUNT
} IrOp;

/* The elementwise functions of map expressions: enum name, spelling. */
#define TDC_MAP_FNS(X)                                                                          \
    X(NEG, "neg") X(ADD, "add") X(SUB, "sub") X(MUL, "mul") X(DIV, "div") X(POW, "pow")        \
    X(EQ, "eq") X(NE, "ne") X(LT, "lt") X(LE, "le") X(GT, "gt") X(GE, "ge")                  \
    X(MAX, "max") X(MIN, "min")                                                               \
    X(SQRT, "sqrt") X(RSQRT, "rsqrt") X(EXP, "exp") X(LOG, "log") X(TANH, "tanh")             \
    X(SIGMOID, "sigmoid") X(GELU, "gelu") X(SILU, "silu") X(SIN, "sin") X(COS, "cos")         \
    X(ABS, "abs") X(RELU, "relu") X(GELU_GRAD, "gelu_grad")

typedef enum {
#define X(id, name) MF_##id,
    TDC_MAP_FNS(X)
#undef X
    MF_COUNT
} MapFn;

#endif
