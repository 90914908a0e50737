-- The person-level marts add up to the facts they summarise: customer_rfm's frequency and
-- monetary to fct_orders' completed orders, customer_engagement's sessions to fct_sessions
-- and its delivered emails to fct_email_engagement. A row names the mart and the person.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

email_engagement as (

    select * from {{ ref('fct_email_engagement') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

engagement as (

    select * from {{ ref('customer_engagement') }}

),

order_totals as (

    select
        person_id,
        count(*) as frequency,
        sum(amount) as monetary
    from orders
    where order_status = 'completed' and person_id is not null
    group by person_id

),

session_totals as (

    select
        person_id,
        count(*) as sessions
    from sessions
    where person_id is not null
    group by person_id

),

email_totals as (

    select
        person_id,
        sum(case when is_delivered then 1 else 0 end) as emails_delivered
    from email_engagement
    group by person_id

),

rfm_mismatches as (

    select
        'customer_rfm' as mart,
        rfm.person_id
    from rfm
    left join order_totals
        on rfm.person_id = order_totals.person_id
    where
        rfm.frequency != coalesce(order_totals.frequency, 0)
        or rfm.monetary != coalesce(order_totals.monetary, 0)

),

engagement_mismatches as (

    select
        'customer_engagement' as mart,
        engagement.person_id
    from engagement
    left join session_totals
        on engagement.person_id = session_totals.person_id
    left join email_totals
        on engagement.person_id = email_totals.person_id
    where
        engagement.sessions != coalesce(session_totals.sessions, 0)
        or engagement.emails_delivered != coalesce(email_totals.emails_delivered, 0)

),

final as (

    select * from rfm_mismatches
    union all
    select * from engagement_mismatches

)

select * from final
