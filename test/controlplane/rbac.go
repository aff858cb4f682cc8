package controlplane

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// AwaitRBAC waits until the API server's authorizer grants user (with
// groups) the first verb on the first resource of every rule, in ns or
// cluster-wide when ns is empty. The RBAC authorizer reads bindings
// through an informer, so a binding just created is not yet in force;
// a test that used it at once would race it.
func AwaitRBAC(ctx context.Context, admin kubernetes.Interface, user string, groups []string, ns string, rules []rbacv1.PolicyRule) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, r := range rules {
		if len(r.Verbs) == 0 || len(r.Resources) == 0 {
			continue
		}
		group := ""
		if len(r.APIGroups) > 0 {
			group = r.APIGroups[0]
		}
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: r.Verbs[0], Group: group, Resource: r.Resources[0]},
		}}
		err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			got, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			return err == nil && got.Status.Allowed, nil
		})
		if err != nil {
			return fmt.Errorf("%s is not yet allowed to %s %s: %w", user, r.Verbs[0], r.Resources[0], err)
		}
	}
	return nil
}
