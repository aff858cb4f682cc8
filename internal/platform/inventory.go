package platform

import "github.com/plimsoll/plimsoll/internal/inventory"

// Inventory builds the inventory plimsoll audits: the objects, read as mode
// says, indexed knowing which custom resources run pods and what labels
// their pods carry (PodRunners). Every audit builds its inventory here, and
// so does every test that audits, so that none judges an inventory
// production would not build.
func Inventory(mode inventory.Mode, objects []*inventory.Object) *inventory.Inventory {
	return inventory.Build(mode, objects, inventory.WithPodRunners(PodRunners))
}
