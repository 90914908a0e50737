{#-
    One row per person BI and marketing may see: the golden record, RFM, lifecycle,
    engagement, segment, scores and value, as of the segments' date. People with an erasure
    request (whatever its date) are not here. Consent is the latest change the warehouse
    holds, with no as-of bound, so every export made from this table honours a withdrawal
    even when the segments come from a backfilled date. The model outputs are cast to the
    contract's types: the tables pandas writes may change an integer's width.
-#}
{%- set purposes = var('consent_purposes') -%}
with

customers as (

    select * from {{ ref('dim_customers') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

engagement as (

    select * from {{ ref('customer_engagement') }}

),

segments as (

    select * from {{ source('segments', 'customer_segments') }}

),

propensity as (

    select * from {{ source('segments', 'propensity_scores') }}

),

value_scores as (

    select * from {{ source('segments', 'customer_value') }}

),

consents as (

    {{ current_consents() }}

),

final as (

    select
        customers.person_id,
        cast(segments.as_of_date as date) as as_of_date,
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone,
        customers.city,
        customers.country_code,
        customers.preferred_channel,
        customers.signup_date,
        customers.first_seen_at,
        {%- for purpose in purposes %}
        coalesce(consents.has_{{ purpose }}_consent, false) as has_{{ purpose }}_consent,
        {%- endfor %}
        lifecycle.lifecycle_stage,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_segment,
        engagement.sessions_90d,
        engagement.email_open_rate_90d,
        engagement.top_category,
        engagement.preferred_device,
        cast(segments.segment_id as integer) as segment_id,
        cast(segments.segment_name as varchar) as segment_name,
        cast(propensity.p_purchase_30d as double) as p_purchase_30d,
        cast(propensity.p_churn as double) as p_churn,
        cast(propensity.decile as integer) as purchase_decile,
        cast(value_scores.predicted_value_12m as double) as predicted_value_12m,
        cast(value_scores.value_decile as integer) as value_decile,
        cast(segments.model_version as varchar) as segment_model_version,
        cast(propensity.model_version as varchar) as propensity_model_version,
        cast(value_scores.model_version as varchar) as value_model_version
    from customers
    inner join segments
        on customers.person_id = segments.person_id
    left join rfm
        on customers.person_id = rfm.person_id
    left join lifecycle
        on customers.person_id = lifecycle.person_id
    left join engagement
        on customers.person_id = engagement.person_id
    left join propensity
        on customers.person_id = propensity.person_id
    left join value_scores
        on customers.person_id = value_scores.person_id
    left join consents
        on customers.person_id = consents.person_id
    where not customers.is_erased

)

select * from final
