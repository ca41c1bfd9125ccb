package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {
  @Test
  void medianOfAnOddCountIsTheMiddleValue() {
    assertThat(Stats.median(List.of(9.0, 1.0, 5.0))).isEqualTo(5.0);
  }

  @Test
  void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
    assertThat(Stats.median(List.of(4.0, 1.0, 3.0, 10.0))).isEqualTo(3.5);
  }

  @Test
  void percentileInterpolatesBetweenClosestRanks() {
    List<Double> v = List.of(10.0, 20.0, 30.0, 40.0, 50.0);
    assertThat(Stats.percentile(v, 0)).isEqualTo(10.0);
    assertThat(Stats.percentile(v, 100)).isEqualTo(50.0);
    // rank 0.99 * 4 = 3.96: 40 + 0.96 * 10
    assertThat(Stats.percentile(v, 99)).isCloseTo(49.6, within(1e-9));
  }

  @Test
  void figuresARunCouldNotProduceAreLeftOut() {
    assertThat(Stats.median(List.of(Double.NaN, 2.0, 4.0))).isEqualTo(3.0);
    assertThat(Stats.median(List.of(Double.NaN))).isNaN();
    assertThat(Stats.median(List.of())).isNaN();
  }

  @Test
  void ratioOfAMissingFigureIsMissing() {
    assertThat(Stats.ratio(3, 4)).isEqualTo(0.75);
    assertThat(Stats.ratio(Double.NaN, 4)).isNaN();
    assertThat(Stats.ratio(3, 0)).isNaN();
  }

  @Test
  void percentileOutsideZeroToHundredIsRefused() {
    assertThatThrownBy(() -> Stats.percentile(List.of(1.0), 101))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("101");
  }
}
