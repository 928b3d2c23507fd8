// Written by hand in the shape of mdatagen's generated package test.

package layerfilterprocessor

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
