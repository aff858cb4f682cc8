package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// The cases of the API server's documentation of ValidatingAdmissionPolicy
// (kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/),
// with what it says the API server answers, and the limits it sets.

func parsePolicy(t testing.TB, text string) *admissionregistrationv1.ValidatingAdmissionPolicy {
	t.Helper()
	var vap admissionregistrationv1.ValidatingAdmissionPolicy
	if err := yaml.UnmarshalStrict([]byte(text), &vap); err != nil {
		t.Fatal(err)
	}
	return &vap
}

func parseObject(t testing.TB, text string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	data, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return u
}

// request is the request that creates an object written in YAML, in a
// namespace with labels (nil: a namespace no input declares).
func request(t testing.TB, obj string, nsLabels map[string]string) *Request {
	t.Helper()
	u := parseObject(t, obj)
	res, ok := Builtin().ForKind(u.GroupVersionKind())
	if !ok {
		t.Fatalf("no built-in resource holds %v", u.GroupVersionKind())
	}
	ns := Namespace{}
	if res.Namespaced {
		ns.Object = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace(), Labels: nsLabels}}
		ns.Unknown = nsLabels == nil
	}
	r, err := NewRequest(u, res.GVR(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// outcome words what the policy decides on a request, for comparison.
func outcome(p *Policy, r *Request, params runtime.Object) string {
	m, ds := p.Evaluate(context.Background(), r, params)
	switch {
	case m.Unknown:
		return "unknown: " + m.Why
	case !m.Matched:
		return "not matched: " + m.Why
	}
	var out []string
	for _, d := range ds {
		switch {
		case d.Error:
			out = append(out, fmt.Sprintf("%s error: %s", d.Field, d.Message))
		case d.Denied:
			out = append(out, fmt.Sprintf("%s denied (%s): %s", d.Field, d.Reason, d.Message))
		default:
			out = append(out, d.Field+" admitted")
		}
	}
	return strings.Join(out, "; ")
}

const replicaLimit = `
metadata: {name: demo-policy.example.com}
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: object.spec.replicas <= 5
`

func deployment(replicas int) string {
	return fmt.Sprintf("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, labels: {app: web}}, spec: {replicas: %d}}", replicas)
}

func TestEvaluate(t *testing.T) {
	shop := map[string]string{"environment": "prod"}
	tests := []struct {
		name, policy, object string
		params               string
		nsLabels             map[string]string
		want                 string
	}{
		{
			name: "a validation that holds admits", policy: replicaLimit, object: deployment(5), nsLabels: shop,
			want: "spec.validations[0] admitted",
		},
		{
			// "failed expression: object.spec.replicas <= 5", the
			// documentation's message when none is given.
			name: "a validation that fails denies, with the expression as the message", policy: replicaLimit, object: deployment(6), nsLabels: shop,
			want: "spec.validations[0] denied (Invalid): failed expression: object.spec.replicas <= 5",
		},
		{
			name: "a policy does not judge kinds its rules do not name", policy: replicaLimit, nsLabels: shop,
			object: "{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: shop}, spec: {replicas: 9}}",
			want:   "not matched: spec.matchConstraints does not match it",
		},
		{
			// The documentation's params example: a ReplicaLimit of
			// maxReplicas 3, and its message.
			name: "params and messageExpression",
			policy: `
metadata: {name: demo-policy.example.com}
spec:
  paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= params.maxReplicas
    messageExpression: "'object.spec.replicas must be no greater than ' + string(params.maxReplicas)"
    reason: Invalid
`,
			params: "{apiVersion: rules.example.com/v1, kind: ReplicaLimit, metadata: {name: replica-limit-test.example.com}, maxReplicas: 3}",
			object: deployment(4), nsLabels: shop,
			want: "spec.validations[0] denied (Invalid): object.spec.replicas must be no greater than 3",
		},
		{
			name: "a message that is given, with a reason",
			policy: onDeployments(`
  - expression: object.spec.replicas <= 5
    message: too many replicas
    reason: Forbidden
`),
			object: deployment(6), nsLabels: shop,
			want: "spec.validations[0] denied (Forbidden): too many replicas",
		},
		{
			// A messageExpression that does not give a string falls back
			// to the message (validator.go: "fallback if the eval result is
			// non-string").
			name: "a messageExpression that fails falls back to the message",
			policy: onDeployments(`
  - expression: object.spec.replicas <= 5
    message: too many replicas
    messageExpression: "object.spec.missing"
`),
			object: deployment(6), nsLabels: shop,
			want: "spec.validations[0] denied (Invalid): too many replicas",
		},
		{
			// The documentation's variables example,
			// image-matches-namespace-environment.policy.example.com.
			name: "variables", policy: imageMatchesEnvironment, nsLabels: map[string]string{"environment": "staging"},
			object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, labels: {}},
  spec: {template: {spec: {containers: [{name: web, image: prod.example.com/web:1}, {name: log, image: docker.io/fluent:1}]}}}}`,
			want: "spec.validations[0] denied (Invalid): only staging images are allowed in namespace shop",
		},
		{
			name: "variables: an exempt object", policy: imageMatchesEnvironment, nsLabels: map[string]string{"environment": "staging"},
			object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, labels: {exempt: "true"}},
  spec: {template: {spec: {containers: [{name: web, image: prod.example.com/web:1}]}}}}`,
			want: "spec.validations[0] admitted",
		},
		{
			name: "variables: a namespace without the label is prod", policy: imageMatchesEnvironment, nsLabels: map[string]string{},
			object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, labels: {}},
  spec: {template: {spec: {containers: [{name: web, image: prod.example.com/web:1}]}}}}`,
			want: "spec.validations[0] admitted",
		},
		{
			// The documentation's matchConditions example.
			name: "matchConditions: an RBAC request is skipped", policy: matchConditions, nsLabels: shop,
			object: "{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r, namespace: shop}}",
			want:   `not matched: matchCondition "rbac" is false`,
		},
		{
			name: "matchConditions: a Lease is skipped", policy: matchConditions, nsLabels: shop,
			object: "{apiVersion: coordination.k8s.io/v1, kind: Lease, metadata: {name: l, namespace: shop}}",
			want:   `not matched: matchCondition "exclude-leases" is false`,
		},
		{
			name: "matchConditions: anything else is judged", policy: matchConditions, nsLabels: shop,
			object: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}",
			want:   "spec.validations[0] denied (Invalid): failed expression: has(object.metadata.labels)",
		},
		{
			name: "objectSelector", nsLabels: shop, object: deployment(9),
			policy: `
metadata: {name: demo}
spec:
  matchConstraints:
    objectSelector: {matchLabels: {app: api}}
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= 5
`,
			want: "not matched: spec.matchConstraints.objectSelector does not select it",
		},
		{
			name: "namespaceSelector", nsLabels: shop, object: deployment(9), policy: prodOnly("staging"),
			want: "not matched: spec.matchConstraints.namespaceSelector does not select namespace shop",
		},
		{
			name: "namespaceSelector that selects", nsLabels: shop, object: deployment(9), policy: prodOnly("prod"),
			want: "spec.validations[0] denied (Invalid): failed expression: object.spec.replicas <= 5",
		},
		{
			name: "namespaceSelector on a namespace no input declares", nsLabels: nil, object: deployment(9), policy: prodOnly("prod"),
			want: "unknown: namespace shop is not among the inputs, so whether spec.matchConstraints.namespaceSelector selects it is unknown",
		},
		{
			// The name label is set on every namespace: a selector of it
			// alone can be judged on any namespace.
			name: "namespaceSelector of the name label on a namespace no input declares", nsLabels: nil, object: deployment(9),
			policy: `
metadata: {name: demo}
spec:
  matchConstraints:
    namespaceSelector:
      matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= 5
`,
			want: "spec.validations[0] denied (Invalid): failed expression: object.spec.replicas <= 5",
		},
		{
			// matchPolicy Equivalent (the default) matches autoscaling/v2
			// to a rule of autoscaling/v1; Exact does not.
			name: "matchPolicy Equivalent", nsLabels: shop, policy: hpaV1Rule(""),
			object: "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop}, spec: {maxReplicas: 3}}",
			want:   "spec.validations[0] denied (Invalid): failed expression: object.spec.maxReplicas > 5",
		},
		{
			name: "matchPolicy Exact", nsLabels: shop, policy: hpaV1Rule("Exact"),
			object: "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop}, spec: {maxReplicas: 3}}",
			want:   "not matched: spec.matchConstraints does not match it",
		},
		{
			name: "excludeResourceRules", nsLabels: shop, object: deployment(9),
			policy: `
metadata: {name: demo}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
    excludeResourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments], resourceNames: [web]}
  validations:
  - expression: "false"
`,
			want: "not matched: spec.matchConstraints does not match it",
		},
		{
			name: "a runtime error", nsLabels: shop, object: deployment(1),
			policy: onDeployments(`
  - expression: object.metadata.labels.team == 'payments'
`),
			want: "spec.validations[0] error: expression 'object.metadata.labels.team == 'payments'' resulted in error: no such key: team",
		},
		{
			name: "an expression that does not compile", nsLabels: shop, object: deployment(1),
			policy: onDeployments(`
  - expression: object.spec.replicas <=
`),
			want: "spec.validations[0] error: compilation error: compilation failed: ERROR: <input>:1:24: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | object.spec.replicas <=\n | .......................^",
		},
		{
			name: "the authorizer is not there offline", nsLabels: shop, object: deployment(1),
			policy: onDeployments(`
  - expression: authorizer.group('apps').resource('deployments').check('delete').allowed()
`),
			want: "spec.validations[0] error: expression 'authorizer.group('apps').resource('deployments').check('delete').allowed()' resulted in error: no such attribute(s): authorizer (offline there is no authorizer to ask)",
		},
		{
			// Params of a built-in kind, which ParamsObject makes typed.
			name: "params in a ConfigMap", nsLabels: shop, object: deployment(4),
			policy: onDeployments(`
  - expression: object.spec.replicas <= int(params.data.maxReplicas) && params.metadata.name == 'limits' && !has(params.binaryData)
    messageExpression: "'at most ' + params.data.maxReplicas + ' replicas'"
`) + "  paramKind: {apiVersion: v1, kind: ConfigMap}\n",
			params: "{apiVersion: v1, kind: ConfigMap, metadata: {name: limits, namespace: shop}, data: {maxReplicas: '3'}}",
			want:   "spec.validations[0] denied (Invalid): at most 3 replicas",
		},
		{
			// request.operation is CREATE, oldObject is null: each object
			// is judged as its creation.
			name: "the request is the object's creation", nsLabels: shop, object: deployment(1),
			policy: onDeployments(`
  - expression: request.operation == 'CREATE' && oldObject == null && request.namespace == 'shop' && request.name == 'web'
`),
			want: "spec.validations[0] admitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var params runtime.Object
			if tt.params != "" {
				params = parseObject(t, tt.params)
			}
			p := Compile(parsePolicy(t, tt.policy))
			if got := outcome(p, request(t, tt.object, tt.nsLabels), params); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if params == nil {
				return
			}
			// Params as the API server hands them to the policy: the
			// typed object of a built-in kind. The decision is the same.
			if got := outcome(p, request(t, tt.object, tt.nsLabels), ParamsObject(params.(*unstructured.Unstructured))); got != tt.want {
				t.Errorf("with params as ParamsObject makes them: got %s, want %s", got, tt.want)
			}
		})
	}
}

const imageMatchesEnvironment = `
metadata: {name: image-matches-namespace-environment.policy.example.com}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  variables:
  - name: environment
    expression: "'environment' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['environment'] : 'prod'"
  - name: exempt
    expression: "'exempt' in object.metadata.labels && object.metadata.labels['exempt'] == 'true'"
  - name: containers
    expression: "object.spec.template.spec.containers"
  - name: containersToCheck
    expression: "variables.containers.filter(c, c.image.contains('example.com/'))"
  validations:
  - expression: "variables.exempt || variables.containersToCheck.all(c, c.image.startsWith(variables.environment + '.'))"
    messageExpression: "'only ' + variables.environment + ' images are allowed in namespace ' + namespaceObject.metadata.name"
`

const matchConditions = `
metadata: {name: demo-policy.example.com}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["*"]}
  matchConditions:
  - name: exclude-leases
    expression: '!(request.resource.group == "coordination.k8s.io" && request.resource.resource == "leases")'
  - name: exclude-kubelet-requests
    expression: '!("system:nodes" in request.userInfo.groups)'
  - name: rbac
    expression: 'request.resource.group != "rbac.authorization.k8s.io"'
  validations:
  - expression: "has(object.metadata.labels)"
`

// onDeployments is a policy of Deployments with these validations.
func onDeployments(validations string) string {
	return `
metadata: {name: demo}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:` + validations
}

func prodOnly(env string) string {
	return `
metadata: {name: demo}
spec:
  matchConstraints:
    namespaceSelector: {matchLabels: {environment: ` + env + `}}
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= 5
`
}

func hpaV1Rule(matchPolicy string) string {
	mp := ""
	if matchPolicy != "" {
		mp = "matchPolicy: " + matchPolicy
	}
	return `
metadata: {name: demo}
spec:
  matchConstraints:
    ` + mp + `
    resourceRules:
    - {apiGroups: [autoscaling], apiVersions: [v1], operations: [CREATE], resources: [horizontalpodautoscalers]}
  validations:
  - expression: object.spec.maxReplicas > 5
`
}

// TestCostLimits holds evaluation to the API server's limits: an
// expression may cost at most celconfig.PerCallLimit, and the validations
// of a request together celconfig.RuntimeCELCostBudget; past either, the
// evaluation is an error, never an admission.
func TestCostLimits(t *testing.T) {
	items := make([]any, 500)
	for i := range items {
		items[i] = fmt.Sprintf("item-%d", i)
	}
	params := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Items", "metadata": map[string]any{"name": "items"},
		"items": items,
		// Lowering 9 MiB costs about 0.94 of an expression's limit.
		"big": strings.Repeat("a", 9<<20),
	}}
	policy := func(validations ...string) string {
		var b strings.Builder
		b.WriteString(`
metadata: {name: demo}
spec:
  paramKind: {apiVersion: example.com/v1, kind: Items}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
`)
		for _, v := range validations {
			fmt.Fprintf(&b, "  - expression: %q\n", v)
		}
		return b.String()
	}
	r := request(t, deployment(1), map[string]string{})

	// 250,000 comparisons: past the limit of one expression.
	got := outcome(Compile(parsePolicy(t, policy("params.items.all(a, params.items.all(b, a.size() >= 0))"))), r, params)
	if want := "resulted in error: operation cancelled: actual cost limit exceeded"; !strings.HasPrefix(got, "spec.validations[0] error: ") || !strings.HasSuffix(got, want) {
		t.Errorf("one expression: got %s, want an error that ends %s", got, want)
	}

	// Each under the limit of one expression, but eleven of them spend the
	// budget of the request.
	lower := "params.big.lowerAscii() != ''"
	got = outcome(Compile(parsePolicy(t, policy(slices.Repeat([]string{lower}, 11)...))), r, params)
	if want := " error: validation failed due to running out of cost budget, no further validation rules will be run"; got != want {
		t.Errorf("eleven expressions: got %s, want %s", got, want)
	}
	got = outcome(Compile(parsePolicy(t, policy(lower, lower))), r, params)
	if want := "spec.validations[0] admitted; spec.validations[1] admitted"; got != want {
		t.Errorf("two expressions: got %s, want %s", got, want)
	}
}

// TestCompileErrors holds the compilation of a new policy to the API
// server's validation: each expression that does not compile, at its path.
func TestCompileErrors(t *testing.T) {
	p := Compile(parsePolicy(t, `
metadata: {name: demo}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  matchConditions:
  - name: uses-a-variable
    expression: variables.big
  variables:
  - name: big
    expression: object.spec.replicas > 3
  - name: broken
    expression: object.spec.(
  validations:
  - expression: variables.big
    messageExpression: "1 + 1"
  - expression: object.spec.replicas
`))
	var got []string
	for _, e := range p.CompileErrors() {
		got = append(got, e.Field)
	}
	// matchConditions may not use variables; a message must be a string;
	// a validation a bool.
	want := []string{
		"spec.matchConditions[0].expression",
		"spec.variables[1].expression",
		"spec.validations[0].messageExpression",
		"spec.validations[1].expression",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compile errors (-want +got):\n%s\n%v", diff, p.CompileErrors())
	}
}

func TestValidate(t *testing.T) {
	vap := parsePolicy(t, `
metadata: {name: demo}
spec:
  failurePolicy: Sometimes
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps, "*"], apiVersions: [v1], operations: [CREATE, SOMETIMES], resources: [deployments]}
  variables:
  - {name: "not-an-identifier", expression: "1"}
  validations:
  - {expression: "true", reason: Teapot}
`)
	Default(&vap.Spec)
	var got []string
	for _, e := range Validate(&vap.Spec) {
		got = append(got, e.Error())
	}
	want := []string{
		`spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"`,
		`spec.matchConstraints.resourceRules[0].operations[1]: Unsupported value: "SOMETIMES": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"`,
		`spec.matchConstraints.resourceRules[0].apiGroups: Invalid value: ["apps","*"]: if '*' is present, must not specify other API groups`,
		`spec.variables[0].name: Invalid value: "not-an-identifier": must be a valid CEL identifier`,
		`spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	none := parsePolicy(t, "metadata: {name: demo}\nspec: {}")
	Default(&none.Spec)
	got = nil
	for _, e := range Validate(&none.Spec) {
		got = append(got, e.Field)
	}
	if diff := cmp.Diff([]string{"spec.matchConstraints", "spec.validations"}, got); diff != "" {
		t.Errorf("an empty spec (-want +got):\n%s", diff)
	}
}

// TestTypeCheck holds the type checker to what the API server puts in a
// policy's status.typeChecking: a warning per expression that is wrong for
// a kind the rules match, naming it, and none for a correct one.
func TestTypeCheck(t *testing.T) {
	warnings := Compile(parsePolicy(t, `
metadata: {name: demo}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments, statefulsets]}
  validations:
  - expression: object.spec.replicas <= 5 && params.data.max != ''
  - expression: object.spec.replicass <= 5
    messageExpression: "object.metadata.name + params.dta"
`)).TypeCheck()
	var got []string
	for _, w := range warnings {
		got = append(got, w.FieldRef+": "+strings.Join(strings.Fields(w.Warning), " "))
	}
	want := []string{
		"spec.validations[1].expression: apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicass' | object.spec.replicass <= 5 | ...........^ " +
			"apps/v1, Kind=StatefulSet: ERROR: <input>:1:12: undefined field 'replicass' | object.spec.replicass <= 5 | ...........^",
		"spec.validations[1].messageExpression: apps/v1, Kind=Deployment: ERROR: <input>:1:30: undefined field 'dta' | object.metadata.name + params.dta | .............................^ " +
			"apps/v1, Kind=StatefulSet: ERROR: <input>:1:30: undefined field 'dta' | object.metadata.name + params.dta | .............................^",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParamsObject: params of a built-in kind become its typed object, as
// the API server's typed informers hold them; others stay as written.
func TestParamsObject(t *testing.T) {
	if _, ok := ParamsObject(parseObject(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: limits}, data: {max: '3'}}")).(*corev1.ConfigMap); !ok {
		t.Error("a ConfigMap's params are not a *corev1.ConfigMap")
	}
	if _, ok := ParamsObject(parseObject(t, "{apiVersion: rules.example.com/v1, kind: ReplicaLimit, metadata: {name: r}, maxReplicas: 3}")).(*unstructured.Unstructured); !ok {
		t.Error("params of a custom kind are not kept as written")
	}
}
