-- The person-level marts add up to the facts they summarise: customer_rfm's frequency and
-- monetary to fct_orders' completed orders, customer_engagement's sessions to fct_sessions
-- and its delivered emails to fct_email_engagement; customer_features' frequency and
-- monetary, on every snapshot date, to the completed orders before that date. A row names
-- the mart and the person.
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

features as (

    select * from {{ ref('customer_features') }}

),

as_of_dates as (

    select * from {{ ref('int_features__as_of_dates') }}

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

dated_order_totals as (

    select
        orders.person_id,
        as_of_dates.as_of_date,
        count(*) as frequency,
        sum(orders.amount) as monetary
    from orders
    inner join as_of_dates
        on orders.ordered_at < cast(as_of_dates.as_of_date as timestamp)
    where orders.order_status = 'completed' and orders.person_id is not null
    group by orders.person_id, as_of_dates.as_of_date

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

feature_mismatches as (

    select
        'customer_features' as mart,
        features.person_id
    from features
    left join dated_order_totals
        on
            features.person_id = dated_order_totals.person_id
            and features.as_of_date = dated_order_totals.as_of_date
    where
        features.frequency != coalesce(dated_order_totals.frequency, 0)
        or abs(features.monetary - coalesce(dated_order_totals.monetary, 0)) > 0.005

),

final as (

    select * from rfm_mismatches
    union all
    select * from engagement_mismatches
    union all
    select * from feature_mismatches

)

select * from final
