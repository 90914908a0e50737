{#-
    Lifecycle stage per person and snapshot date, one row per row of int_features__rfm
    (every person, every date); customer_lifecycle is its rows for the run's date. The
    first rule that holds wins; thresholds are vars, in days before the row's date, counted
    as int_features__rfm counts recency and tenure:

    - prospect: no completed order;
    - new:      first completed order at most `lifecycle_new_days` (30) days ago;
    - active:   last completed order at most `lifecycle_active_days` (90) days ago;
    - dormant:  last completed order at most `lifecycle_dormant_days` (365) days ago;
    - lapsed:   last completed order longer ago than that.
-#}
with

rfm as (

    select * from {{ ref('int_features__rfm') }}

),

final as (

    select
        person_id,
        as_of_date,
        case
            when frequency = 0 then 'prospect'
            when tenure_days <= {{ var('lifecycle_new_days') }} then 'new'
            when recency_days <= {{ var('lifecycle_active_days') }} then 'active'
            when recency_days <= {{ var('lifecycle_dormant_days') }} then 'dormant'
            else 'lapsed'
        end as lifecycle_stage,
        case
            when frequency = 0 then 5
            when tenure_days <= {{ var('lifecycle_new_days') }} then 1
            when recency_days <= {{ var('lifecycle_active_days') }} then 2
            when recency_days <= {{ var('lifecycle_dormant_days') }} then 3
            else 4
        end as lifecycle_stage_order,
        first_ordered_at,
        last_ordered_at,
        tenure_days,
        recency_days,
        frequency
    from rfm

)

select * from final
