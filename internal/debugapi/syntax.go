package debugapi

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// The console's language is Go expressions, and assignments "lhs = rhs",
// minus what Delve's evaluator does not implement. The app checks it
// before anything reaches the agent, so a typo costs no stop of the app.

// CheckSyntax refuses, as CodeSyntax, an expression or assignment that is
// not Go, naming the column: Delve's own parse errors would come back as
// evaluation failures, without the hint the console gives for syntax.
func CheckSyntax(expr string) error {
	sides := []string{expr}
	if lhs, rhs, ok := SplitAssign(expr); ok {
		sides = []string{lhs, rhs}
	}
	for i, side := range sides {
		e, err := parser.ParseExpr(side)
		if err == nil {
			if err := unsupported(e); err != nil {
				return err
			}
			continue
		}
		msg := err.Error()
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			// Both sides are trimmed: the left one starts the expression's
			// text, the right one ends it.
			off := strings.Index(expr, side)
			if i == 1 {
				off = strings.LastIndex(expr, side)
			}
			msg = fmt.Sprintf("column %d: %s", off+list[0].Pos.Column, list[0].Msg)
		}
		if len(sides) == 2 {
			return Errorf(CodeSyntax, "the %s side of the assignment is not a Go expression: %s", [2]string{"left", "right"}[i], msg)
		}
		return Errorf(CodeSyntax, "not a Go expression: %s", msg)
	}
	return nil
}

// unsupported refuses, in words, the Go that Delve's evaluator does not
// implement and would answer with "*ast.CompositeLit not implemented".
func unsupported(e ast.Expr) error {
	var err error
	ast.Inspect(e, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.CompositeLit:
			err = Errorf(CodeEval, "composite literals (T{…}) are not supported: the debugger cannot build a new value of a type; assign it to a variable in your code first, or pass its fields one by one")
		case *ast.FuncLit:
			err = Errorf(CodeEval, "function literals are not supported: the debugger evaluates expressions, it does not compile code; call a named function instead")
		}
		return err == nil
	})
	return err
}

// SplitAssign finds a top-level "=" (not ==, :=, <=, ...).
func SplitAssign(expr string) (lhs, rhs string, ok bool) {
	var s scanner.Scanner
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(expr))
	s.Init(file, []byte(expr), nil, 0)
	depth := 0
	for {
		pos, tok, _ := s.Scan()
		switch tok {
		case token.EOF:
			return "", "", false
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		case token.ASSIGN:
			if depth == 0 {
				off := file.Offset(pos)
				return strings.TrimSpace(expr[:off]), strings.TrimSpace(expr[off+1:]), true
			}
		}
	}
}
