// Panel shorthands shared by the three dashboards, on the foundation SDK's builders: each returns a
// builder with our defaults (legend as a table, multi tooltips, null gaps kept) that the caller refines.
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common'
import {
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard'
import type { DashboardBuilder, Panel } from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as BarChartBuilder } from '@grafana/grafana-foundation-sdk/barchart'
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table'
import { PanelBuilder as TimeSeriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries'

type AnyPanel = Builder<Panel> & { id(id: number): unknown }

/**
 * Adds rows of panels in order, numbering rows and panels 1, 2, 3… so that panel links and the query
 * test can name a panel by id.
 */
export function withSections(
  d: DashboardBuilder,
  sections: ReadonlyArray<[string, AnyPanel[]]>,
): DashboardBuilder {
  let id = 1
  for (const [title, panels] of sections) {
    d.withRow(new RowBuilder(title).id(id++))
    for (const panel of panels) {
      panel.id(id++)
      d.withPanel(panel)
    }
  }
  return d
}

export interface SeriesOptions {
  unit: string
  description?: string
  /** Grid width out of 24 (default 12) and height in rows (default 8). */
  width?: number
  height?: number
  min?: number
  max?: number
  bars?: boolean
  stacked?: boolean
}

/** A time-series panel with a table legend (mean, max) and a shared tooltip. */
export function timeSeries(title: string, query: Builder<Dataquery>, o: SeriesOptions): TimeSeriesBuilder {
  const p = new TimeSeriesBuilder()
    .title(title)
    .withTarget(query)
    .unit(o.unit)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .lineWidth(1)
    .fillOpacity(o.bars ? 80 : 10)
    .drawStyle(o.bars ? GraphDrawStyle.Bars : GraphDrawStyle.Line)
    .spanNulls(false)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(['mean', 'max']),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
  if (o.description) p.description(o.description)
  if (o.min !== undefined) p.min(o.min)
  if (o.max !== undefined) p.max(o.max)
  if (o.stacked) p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
  return p
}

export interface StatOptions {
  unit: string
  description?: string
  width?: number
  /** Ascending thresholds: [base colour, [value, colour], …]. */
  thresholds?: [string, ...Array<[number, string]>]
  decimals?: number
}

/** A single-value panel showing the last non-null value of its query. */
export function stat(title: string, query: Builder<Dataquery>, o: StatOptions): StatBuilder {
  const p = new StatBuilder()
    .title(title)
    .withTarget(query)
    .unit(o.unit)
    .span(o.width ?? 4)
    .height(4)
    .graphMode(BigValueGraphMode.None)
    .colorMode(o.thresholds ? BigValueColorMode.Background : BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields(''))
  if (o.description) p.description(o.description)
  if (o.decimals !== undefined) p.decimals(o.decimals)
  if (o.thresholds) {
    const [base, ...steps] = o.thresholds
    p.thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]),
    )
  }
  return p
}

/** A table panel. */
export function table(
  title: string,
  query: Builder<Dataquery>,
  o: { width?: number; height?: number; description?: string } = {},
): TableBuilder {
  const p = new TableBuilder()
    .title(title)
    .withTarget(query)
    .span(o.width ?? 24)
    .height(o.height ?? 8)
  if (o.description) p.description(o.description)
  return p
}

/** A bar chart of a category column (the query's first string column) against its numeric columns. */
export function barChart(
  title: string,
  query: Builder<Dataquery>,
  o: { unit: string; width?: number; height?: number; description?: string; stacked?: boolean },
): BarChartBuilder {
  const p = new BarChartBuilder()
    .title(title)
    .withTarget(query)
    .unit(o.unit)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List))
  if (o.description) p.description(o.description)
  if (o.stacked) p.stacking(StackingMode.Normal)
  return p
}
