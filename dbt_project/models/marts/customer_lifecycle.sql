{#-
    Lifecycle stage per person as of the run's date, one row per person of customer_rfm
    (every person): prospect, new, active, dormant or lapsed, by the thresholds (vars, in
    days before the as-of date) documented in int_features__lifecycle, which holds the
    stages for every feature snapshot date; this mart is its rows for the run's date.
-#}
with

lifecycle as (

    select * from {{ ref('int_features__lifecycle') }}

),

final as (

    select
        person_id,
        as_of_date,
        lifecycle_stage,
        lifecycle_stage_order,
        first_ordered_at,
        last_ordered_at,
        tenure_days,
        recency_days,
        frequency
    from lifecycle
    where as_of_date = {{ as_of_date() }}

)

select * from final
