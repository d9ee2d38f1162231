package dockerctl

import (
	"testing"
)

func TestPipSummary(t *testing.T) {
	log := []string{
		"Processing /wheels/tfdevtiny-1.0-py3-none-any.whl",
		"Attempting uninstall: numpy",
		"    Found existing installation: numpy 1.24.2",
		"    Uninstalling numpy-1.24.2:",
		"      Successfully uninstalled numpy-1.24.2",
		"Successfully installed numpy-1.25.0 tfdevtiny-1.0",
	}
	sum, restart := pipSummary(log)
	if sum != "installed tfdevtiny 1.0; changed numpy 1.24.2 -> 1.25.0; kernels that imported numpy must restart to see it" || len(restart) != 1 {
		t.Errorf("%q %v", sum, restart)
	}
	if sum, _ := pipSummary([]string{"Requirement already satisfied: numpy"}); sum != "nothing new installed" {
		t.Errorf("%q", sum)
	}
}
