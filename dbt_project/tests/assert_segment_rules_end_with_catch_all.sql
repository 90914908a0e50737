-- The last segment rule (highest priority number) must hold for everyone: no condition set.
-- Then every person gets exactly one rule segment (customer_rule_segments).
with

rules as (

    select * from {{ ref('segment_rules') }}

),

last_priority as (

    select max(priority) as priority
    from rules

),

last_rule as (

    select rules.*
    from rules
    inner join last_priority
        on rules.priority = last_priority.priority

),

conditioned as (

    select
        priority,
        segment_name
    from last_rule
    where
        lifecycle_stage is not null
        or rfm_segment is not null
        or min_recency_days is not null
        or max_recency_days is not null
        or min_frequency is not null
        or max_frequency is not null
        or min_monetary is not null
        or max_monetary is not null
        or min_sessions is not null
        or max_sessions is not null
        or min_sessions_90d is not null

)

select * from conditioned
