/* parser.y - the grammar of .td programs, for the Lemon parser generator.
 *
 * Actions only call ast_* builders (compiler/ast.c); this file reads as the
 * syntax's reference. Statements end at a NEWLINE or ';' (parse.c drops
 * newlines that cannot end a statement). `error` rules resynchronise at the
 * end of a statement or declaration so that one run reports several errors. */

%include {
#include <assert.h>
#include <stdlib.h>

#include "ast.h"
#include "diag.h"
#include "parse.h"

#define A (p->arena)
static Name name_of(Token t) { Name n = {t.str.text, t.loc}; return n; }
static PtrVec *vec1(Arena *a, void *x) { PtrVec *v = arena_alloc(a, sizeof *v); if (x) ptrvec_push(a, v, x); return v; }
}

%name Parse
%token_prefix TK_
%token_type {Token}
%default_type {void *}
%extra_context {Parser *p}

%syntax_error {
    parse_syntax_error(p, yyminor, yypParser);
}
%parse_failure {
    /* Unrecoverable after an error: the error is already reported. */
    p->syntax_errors++;
}
%stack_overflow {
    diag_error(p->last.loc, "expression nested too deeply");
    p->syntax_errors++;
}
%stack_size 1000

/* Operator precedence, lowest first. Comparisons are below all of these and
 * do not chain: `expr` is at most one comparison of two `arith`s. */
%left PLUS MINUS.
%left STAR SLASH AT.
%right UMINUS.
%right POW.
%left AS.

%token NEWLINE SEMI.

/* ---- program = item* ---- */
program ::= items.
items ::= .
items ::= items item_line.
item_line ::= item end. { p->errors_at_last_item = p->syntax_errors; }
item_line ::= end.
item_line ::= error end.
end ::= NEWLINE.
end ::= SEMI.

%type item {Decl *}
item(D) ::= IMPORT(K) STRING(S). {
    Expr *s = ast_string(A, S.loc, S.str.text, S.str.len);
    D = ast_import(A, K.loc, s); ptrvec_push(A, &p->decls, D);
}
item(D) ::= DIM(K) IDENT(N). { D = ast_dim(A, K.loc, name_of(N), NULL); ptrvec_push(A, &p->decls, D); }
item(D) ::= DIM(K) IDENT(N) ASSIGN expr(E). { D = ast_dim(A, K.loc, name_of(N), E); ptrvec_push(A, &p->decls, D); }
item(D) ::= CONST(K) IDENT(N) ASSIGN expr(E). { D = ast_const(A, K.loc, name_of(N), E); ptrvec_push(A, &p->decls, D); }
item(D) ::= PARAM(K) IDENT(N) COLON type(T). { D = ast_param_decl(A, K.loc, name_of(N), T, NULL); ptrvec_push(A, &p->decls, D); }
item(D) ::= PARAM(K) IDENT(N) COLON type(T) ASSIGN expr(E). { D = ast_param_decl(A, K.loc, name_of(N), T, E); ptrvec_push(A, &p->decls, D); }
item(D) ::= FN(K) IDENT(N) LPAREN params(P) RPAREN results(R) block(B). {
    D = ast_fn(A, K.loc, name_of(N), P, R, *B); D->broken = parse_errors_since_last_item(p); ptrvec_push(A, &p->decls, D);
}
item(D) ::= TRAIN(K) IDENT(N) block(B). {
    D = ast_train(A, K.loc, name_of(N), NULL, false, *B); D->broken = parse_errors_since_last_item(p); ptrvec_push(A, &p->decls, D);
}
item(D) ::= TRAIN(K) IDENT(N) LPAREN params(P) RPAREN block(B). {
    D = ast_train(A, K.loc, name_of(N), P, true, *B); D->broken = parse_errors_since_last_item(p); ptrvec_push(A, &p->decls, D);
}

/* ---- types: f32 or f32["batch seq"] ---- */
%type type {TypeExpr *}
type(T) ::= DTYPE(D). { T = ast_type(A, D.loc, D.dtype, NULL, D.loc); }
type(T) ::= DTYPE(D) LBRACKET STRING(S) RBRACKET(C). {
    Expr *s = ast_string(A, S.loc, S.str.text, S.str.len);
    T = ast_type(A, D.loc, D.dtype, s, C.loc);
}
/* `float` is any float dtype, bound at each call, like jaxtyping's Float */
type(T) ::= ANYFLOAT(D). { T = ast_type(A, D.loc, DT_F32, NULL, D.loc); T->any_float = true; }
type(T) ::= ANYFLOAT(D) LBRACKET STRING(S) RBRACKET(C). {
    Expr *s = ast_string(A, S.loc, S.str.text, S.str.len);
    T = ast_type(A, D.loc, DT_F32, s, C.loc);
    T->any_float = true;
}

/* ---- parameter lists and results ---- */
%type params {PtrVec *}
params(L) ::= . { L = vec1(A, NULL); }
params(L) ::= param_list(X). { L = X; }
params(L) ::= param_list(X) COMMA. { L = X; }
%type param_list {PtrVec *}
param_list(L) ::= param(X). { L = vec1(A, X); }
param_list(L) ::= param_list(L0) COMMA param(X). { L = L0; ptrvec_push(A, L, X); }
%type param {Param *}
param(P) ::= IDENT(N) COLON type(T). { P = ast_param(A, name_of(N), T); }

%type results {PtrVec *}
results(R) ::= . { R = NULL; }
results(R) ::= ARROW type(T). { R = vec1(A, T); }
results(R) ::= ARROW LPAREN type_list(L) RPAREN. { R = L; }
%type type_list {PtrVec *}
type_list(L) ::= type(T). { L = vec1(A, T); }
type_list(L) ::= type_list(L0) COMMA type(T). { L = L0; ptrvec_push(A, L, T); }

/* ---- blocks and statements ---- */
%type block {Block *}
block(B) ::= LBRACE(O) stmts(S) RBRACE(C). { B = arena_alloc(A, sizeof *B); *B = ast_block(A, O.loc, S, C.loc); }
%type stmts {PtrVec *}
stmts(L) ::= . { L = vec1(A, NULL); }
stmts(L) ::= stmts(L0) stmt(S) end. { L = L0; ptrvec_push(A, L, S); }
stmts(L) ::= stmts(L0) end. { L = L0; }
stmts(L) ::= stmts(L0) error end. { L = L0; }

%type stmt {Stmt *}
stmt(S) ::= targets(T) ASSIGN expr(E). { S = ast_assign(A, T, E); }
stmt(S) ::= RETURN(K) expr_list(L). { S = ast_return(A, K.loc, L); }
stmt(S) ::= FOR(K) IDENT(V) IN expr(LO) DOTDOT expr(HI) block(B). { S = ast_for(A, K.loc, name_of(V), LO, HI, *B); }
stmt(S) ::= MINIMIZE(K) expr(E) WITH IDENT(O) LPAREN args(L) RPAREN(C). { S = ast_minimize(A, K.loc, E, name_of(O), L, C.loc); }

%type targets {PtrVec *}
targets(L) ::= IDENT(N). { Name *n = arena_alloc(A, sizeof *n); *n = name_of(N); L = vec1(A, n); }
targets(L) ::= targets(L0) COMMA IDENT(N). { Name *n = arena_alloc(A, sizeof *n); *n = name_of(N); L = L0; ptrvec_push(A, L, n); }

%type expr_list {PtrVec *}
expr_list(L) ::= expr(E). { L = vec1(A, E); }
expr_list(L) ::= expr_list(L0) COMMA expr(E). { L = L0; ptrvec_push(A, L, E); }

/* ---- expressions ---- */
%type expr {Expr *}
expr(E) ::= arith(X). { E = X; }
expr(E) ::= arith(X) EQ arith(Y). { E = ast_binary(A, OP_EQ, X, Y); }
expr(E) ::= arith(X) NE arith(Y). { E = ast_binary(A, OP_NE, X, Y); }
expr(E) ::= arith(X) LT arith(Y). { E = ast_binary(A, OP_LT, X, Y); }
expr(E) ::= arith(X) LE arith(Y). { E = ast_binary(A, OP_LE, X, Y); }
expr(E) ::= arith(X) GT arith(Y). { E = ast_binary(A, OP_GT, X, Y); }
expr(E) ::= arith(X) GE arith(Y). { E = ast_binary(A, OP_GE, X, Y); }

%type arith {Expr *}
arith(E) ::= arith(X) PLUS arith(Y). { E = ast_binary(A, OP_ADD, X, Y); }
arith(E) ::= arith(X) MINUS arith(Y). { E = ast_binary(A, OP_SUB, X, Y); }
arith(E) ::= arith(X) STAR arith(Y). { E = ast_binary(A, OP_MUL, X, Y); }
arith(E) ::= arith(X) SLASH arith(Y). { E = ast_binary(A, OP_DIV, X, Y); }
arith(E) ::= arith(X) AT arith(Y). { E = ast_binary(A, OP_MATMUL, X, Y); }
arith(E) ::= arith(X) POW arith(Y). { E = ast_binary(A, OP_POW, X, Y); }
arith(E) ::= MINUS(M) arith(X). [UMINUS] { E = ast_unary(A, M.loc, OP_NEG, X); }
arith(E) ::= PLUS arith(X). [UMINUS] { E = X; }
arith(E) ::= arith(X) AS DTYPE(D). { E = ast_cast(A, X, D.dtype, D.loc); }
arith(E) ::= postfix(X). { E = X; }

%type postfix {Expr *}
postfix(E) ::= primary(X). { E = X; }
postfix(E) ::= postfix(X) LBRACKET expr(I) RBRACKET(C). { E = ast_index(A, X, I, C.loc); }

%type primary {Expr *}
primary(E) ::= INT(T). { E = ast_int(A, T.loc, T.int_value); }
primary(E) ::= TRUE(T). { E = ast_bool(A, T.loc, true); }
primary(E) ::= FALSE(T). { E = ast_bool(A, T.loc, false); }
primary(E) ::= FLOAT(T). { E = ast_float(A, T.loc, T.float_value); }
primary(E) ::= STRING(T). { E = ast_string(A, T.loc, T.str.text, T.str.len); }
primary(E) ::= IDENT(T). { E = ast_name(A, name_of(T)); }
primary(E) ::= DTYPE(T). { E = ast_dtype(A, T.loc, T.dtype); }
primary(E) ::= LPAREN(O) expr(X) RPAREN(C). { E = ast_paren(X, O.loc, C.loc); }
primary(E) ::= IDENT(N) LPAREN args(L) RPAREN(C). { E = ast_call(A, name_of(N), L, C.loc); }

%type args {PtrVec *}
args(L) ::= . { L = NULL; }
args(L) ::= arg_list(X). { L = X; }
args(L) ::= arg_list(X) COMMA. { L = X; }
%type arg_list {PtrVec *}
arg_list(L) ::= arg(X). { L = vec1(A, X); }
arg_list(L) ::= arg_list(L0) COMMA arg(X). { L = L0; ptrvec_push(A, L, X); }
%type arg {Arg *}
arg(R) ::= expr(E). { Name none = {0}; R = ast_arg(A, none, E); }
arg(R) ::= IDENT(K) ASSIGN expr(E). { R = ast_arg(A, name_of(K), E); }

%code {
/* Lemon stays quiet for three tokens after an error; parse.c skips to the
 * end of the broken statement itself, so errors in the next statement must
 * be reported at once. */
void ParseEndOfStatement(void *parser) { ((yyParser *)parser)->yyerrcnt = -1; }
}

%code {
/* The tokens the parser could take next: each candidate is run through the
 * parse tables on a copy of the state stack, reductions included. Used to
 * say "expected '=' or end of line" in a syntax error. */
int ParseExpectedTokens(void *parser, int *out, int max)
{
    yyParser *p = parser;
    YYACTIONTYPE states[YYSTACKDEPTH + 2];
    int depth = (int)(p->yytos - p->yystack), n = 0;
    for (int t = 0; t < YYNTOKEN && n < max; t++) {
        for (int i = 0; i <= depth; i++)
            states[i] = p->yystack[i].stateno;
        int top = depth;
        for (int steps = 0; steps < 10000; steps++) {
            YYACTIONTYPE act = yy_find_shift_action((YYCODETYPE)t, states[top]);
            if (act <= YY_MAX_SHIFTREDUCE || act == YY_ACCEPT_ACTION) {
                out[n++] = t;
                break;
            }
            if (act < YY_MIN_REDUCE)
                break; /* an error: t cannot come next */
            int rule = act - YY_MIN_REDUCE;
            top += yyRuleInfoNRhs[rule];
            if (top < 0 || top + 1 > YYSTACKDEPTH)
                break;
            states[top + 1] = yy_find_reduce_action(states[top], yyRuleInfoLhs[rule]);
            top++;
        }
    }
    return n;
}
}
