package policy

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// ParamsObject is a params object as the API server hands it to a
// policy's expressions: a built-in kind as its typed object, defaulted,
// which the API server reads from its typed informer factory
// ((*policySource).ensureParamsForPolicyLocked in k8s.io/apiserver's
// plugin/policy/generic); any other kind as written, as its dynamic
// informer holds it. Expressions see the same values either way; the typed
// object is also what the validator reads fastest, where it would turn an
// Unstructured into JSON and back on every evaluation. It converts u once,
// and never changes it.
func ParamsObject(u *unstructured.Unstructured) runtime.Object {
	gvk := u.GroupVersionKind()
	if _, ok := Builtin().ForKind(gvk); !ok {
		return u
	}
	typed, err := scheme.Scheme.New(gvk)
	if err != nil {
		return u
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), typed); err != nil {
		return u // the validator reads it as written, and says what is wrong
	}
	typed.GetObjectKind().SetGroupVersionKind(gvk)
	SetDefaults(typed)
	return typed
}
