package stats

import "testing"

func TestOfGivesMinMedianMax(t *testing.T) {
	cases := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"an odd count takes the middle value", []float64{3, 1, 2}, Summary{1, 2, 3, 3}},
		{"an even count averages the two middle values", []float64{4, 1, 3, 2}, Summary{1, 2.5, 4, 4}},
		{"nothing gives the zero summary", nil, Summary{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Of(c.in); got != c.want {
				t.Fatalf("Of(%v) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
}
