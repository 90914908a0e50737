{#-
    Rule-based segments, defined as data in the `segment_rules` seed: each person gets the
    first rule (lowest `priority`) whose conditions all hold, so segments never overlap.
    A condition left empty in the seed always holds; a recency condition never holds for a
    person without orders (their recency is null). The seed's last rule has no condition
    (a catch-all, checked by a test), so everyone gets exactly one segment.
-#}
with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

engagement as (

    select * from {{ ref('customer_engagement') }}

),

rules as (

    select * from {{ ref('segment_rules') }}

),

profiles as (

    select
        rfm.person_id,
        rfm.as_of_date,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.rfm_segment,
        lifecycle.lifecycle_stage,
        engagement.sessions,
        engagement.sessions_90d
    from rfm
    inner join lifecycle
        on rfm.person_id = lifecycle.person_id
    inner join engagement
        on rfm.person_id = engagement.person_id

),

matches as (

    select
        profiles.person_id,
        min(rules.priority) as priority
    from profiles
    cross join rules
    where
        (rules.lifecycle_stage is null or profiles.lifecycle_stage = rules.lifecycle_stage)
        and (rules.rfm_segment is null or profiles.rfm_segment = rules.rfm_segment)
        and (rules.min_recency_days is null or profiles.recency_days >= rules.min_recency_days)
        and (rules.max_recency_days is null or profiles.recency_days <= rules.max_recency_days)
        and (rules.min_frequency is null or profiles.frequency >= rules.min_frequency)
        and (rules.max_frequency is null or profiles.frequency <= rules.max_frequency)
        and (rules.min_monetary is null or profiles.monetary >= rules.min_monetary)
        and (rules.max_monetary is null or profiles.monetary <= rules.max_monetary)
        and (rules.min_sessions is null or profiles.sessions >= rules.min_sessions)
        and (rules.max_sessions is null or profiles.sessions <= rules.max_sessions)
        and (rules.min_sessions_90d is null or profiles.sessions_90d >= rules.min_sessions_90d)
    group by profiles.person_id

),

final as (

    select
        profiles.person_id,
        profiles.as_of_date,
        rules.segment_name,
        rules.priority as segment_priority,
        rules.description as segment_description,
        profiles.lifecycle_stage,
        profiles.rfm_segment,
        profiles.recency_days,
        profiles.frequency,
        profiles.monetary,
        profiles.sessions,
        profiles.sessions_90d
    from profiles
    left join matches
        on profiles.person_id = matches.person_id
    left join rules
        on matches.priority = rules.priority

)

select * from final
