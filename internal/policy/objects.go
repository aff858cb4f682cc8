package policy

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
)

// ObjectsFunction is plimsoll's own CEL extension, which the API server
// does not have: plimsoll.objects(apiVersion, kind) lists every object of
// that kind among the audited objects, and plimsoll.objects(apiVersion,
// kind, namespace) those in one namespace, each as an expression sees
// object (defaulted, in its namespace). A policy that calls it judges an
// object by others (a Deployment by the PodDisruptionBudgets of its
// namespace), so it is a custom check only: it cannot be exported, and a
// cluster's own policies never have it.
const ObjectsFunction = "plimsoll.objects"

// Kind is a kind a policy lists with plimsoll.objects.
type Kind struct{ APIVersion, Kind string }

// Lister answers plimsoll.objects: the CEL values of the objects of
// apiVersion's group and kind, in namespace, or in every namespace when
// all is set, in a stable order.
type Lister func(apiVersion, kind, namespace string, all bool) []ref.Val

// parser parses expressions to find the calls of plimsoll.objects in them;
// the declarations do not matter to a parse.
var parser = func() *cel.Env {
	env, err := cel.NewEnv()
	if err != nil {
		panic(err)
	}
	return env
}()

// ObjectsKinds returns the kinds the policy's expressions list with
// plimsoll.objects, in the order they first appear, and an error for each
// call that does not name its kind with string literals: plimsoll reads
// only the kinds its checks name, so it must know them before it reads.
func ObjectsKinds(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) ([]Kind, field.ErrorList) {
	var kinds []Kind
	var errs field.ErrorList
	seen := map[Kind]bool{}
	find := func(p *field.Path, expression string) {
		parsed, iss := parser.Parse(expression)
		if iss.Err() != nil {
			return // the compilation says what is wrong with it
		}
		for _, call := range ast.MatchDescendants(ast.NavigateAST(parsed.NativeRep()), isObjectsCall) {
			args := call.AsCall().Args()
			k, ok := Kind{}, len(args) == 2 || len(args) == 3
			if ok {
				k.APIVersion, ok = stringLiteral(args[0])
			}
			if ok {
				k.Kind, ok = stringLiteral(args[1])
			}
			if !ok || k.APIVersion == "" || k.Kind == "" {
				errs = append(errs, field.Invalid(p, expression, ObjectsFunction+" takes the apiVersion and the kind it lists as string literals, and a namespace if it lists one namespace's (plimsoll reads only the kinds its checks name): "+ObjectsFunction+"('policy/v1', 'PodDisruptionBudget', object.metadata.namespace)"))
				continue
			}
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	forEachExpression(spec, find)
	return kinds, errs
}

// isObjectsCall matches plimsoll.objects(...), which parses as the call of
// objects on the identifier plimsoll.
func isObjectsCall(e ast.NavigableExpr) bool {
	if e.Kind() != ast.CallKind {
		return false
	}
	call := e.AsCall()
	target := call.Target()
	return call.FunctionName() == "objects" && call.IsMemberFunction() &&
		target.Kind() == ast.IdentKind && target.AsIdent() == "plimsoll"
}

func stringLiteral(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// forEachExpression calls fn with every CEL expression of a policy and its
// field.
func forEachExpression(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec, fn func(*field.Path, string)) {
	p := field.NewPath("spec")
	for i, c := range spec.MatchConditions {
		fn(p.Child("matchConditions").Index(i).Child("expression"), c.Expression)
	}
	for i, v := range spec.Variables {
		fn(p.Child("variables").Index(i).Child("expression"), v.Expression)
	}
	for i, v := range spec.Validations {
		fn(p.Child("validations").Index(i).Child("expression"), v.Expression)
		if v.MessageExpression != "" {
			fn(p.Child("validations").Index(i).Child("messageExpression"), v.MessageExpression)
		}
	}
	for i, a := range spec.AuditAnnotations {
		fn(p.Child("auditAnnotations").Index(i).Child("valueExpression"), a.ValueExpression)
	}
}

// usesObjects reports whether an expression calls plimsoll.objects.
func usesObjects(expression string) bool {
	if !strings.Contains(expression, "objects") {
		return false
	}
	parsed, iss := parser.Parse(expression)
	return iss.Err() == nil && len(ast.MatchDescendants(ast.NavigateAST(parsed.NativeRep()), isObjectsCall)) > 0
}

// withObjects extends env with plimsoll.objects, answered by list. A nil
// list answers every call with an empty list: enough to compile.
func withObjects(env *environment.EnvSet, list Lister) (*environment.EnvSet, error) {
	answer := func(apiVersion, kind, namespace ref.Val, all bool) ref.Val {
		var ns string
		if !all {
			ns = string(namespace.(types.String))
		}
		var values []ref.Val
		if list != nil {
			values = list(string(apiVersion.(types.String)), string(kind.(types.String)), ns, all)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, values)
	}
	return env.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions: []cel.EnvOption{cel.Function(ObjectsFunction,
			cel.Overload("plimsoll_objects_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.ListType(cel.DynType),
				cel.BinaryBinding(func(apiVersion, kind ref.Val) ref.Val { return answer(apiVersion, kind, nil, true) })),
			cel.Overload("plimsoll_objects_string_string_string", []*cel.Type{cel.StringType, cel.StringType, cel.StringType}, cel.ListType(cel.DynType),
				cel.FunctionBinding(func(args ...ref.Val) ref.Val { return answer(args[0], args[1], args[2], false) })),
		)},
	})
}

// objectsNote is what TypeCheck says of an expression that calls
// plimsoll.objects, which the API server's type checker does not know.
func objectsNote() string {
	return fmt.Sprintf("not type-checked: it calls %s, plimsoll's own extension, which the API server's type checker does not have", ObjectsFunction)
}
