{#-
    The dates the feature models describe, one row each: the run's as-of date T (offset 0)
    and T minus each of `feature_snapshot_offsets_days` (30 and 365; macro
    `feature_snapshot_offsets`): the snapshots the ML trains on (features as of T-30 with
    labels from (T-30, T], and so on), all from the one build as of T, whose facts hold
    everything before T. Every feature model joins its facts to these dates (facts strictly
    before midnight UTC of a date, `as_of_at`, count for it; the recent window starts at
    `window_start_at`, `engagement_window_days` before).
-#}
with

offsets as (

    select snapshots.offset_days
    from (values ({{ feature_snapshot_offsets() | join('), (') }})) as snapshots (offset_days)

),

dates as (

    select
        cast({{ dbt.dateadd('day', '-offset_days', as_of_date()) }} as date) as as_of_date,
        cast(offset_days as integer) as offset_days
    from offsets

),

final as (

    select
        as_of_date,
        offset_days,
        cast(as_of_date as timestamp) as as_of_at,
        {{ dbt.dateadd(
            'day', -var('engagement_window_days'), 'cast(as_of_date as timestamp)'
        ) }} as window_start_at
    from dates

)

select * from final
