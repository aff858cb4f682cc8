package serve

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// elect campaigns for the Lease until ctx ends, again each time
// leadership is lost. Each leadership won is handed to the loop, which
// syncs the sink while it lasts. When ctx ends, a Lease held is released
// (ReleaseOnCancel), so another replica takes over at its next retry
// rather than when the Lease expires.
func (s *server) elect(ctx context.Context) {
	le := s.o.LeaderElection
	client, err := coordinationv1.NewForConfig(s.config)
	if err != nil {
		s.o.Log.Error("leader election: no client", "error", err)
		return
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            le.Name,
			LeaseDuration:   le.LeaseDuration,
			RenewDeadline:   le.RenewDeadline,
			RetryPeriod:     le.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					s.metrics.leader.Set(1)
					s.o.Log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
					select {
					case s.leading <- lctx:
					case <-lctx.Done():
					}
				},
				OnStoppedLeading: func() {
					s.metrics.leader.Set(0)
					s.o.Log.Info("not leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
				},
			},
		})
		if err != nil {
			s.o.Log.Error("leader election", "error", err)
			return
		}
		elector.Run(ctx)
	}
}
