{#-
    Recency, frequency and monetary value per person as of the run's date, scored 1–5 and
    named by the RFM grid seed. Only completed orders placed before the as-of date count.
-#}
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

completed_orders as (

    select
        customer_id,
        ordered_at,
        amount
    from orders
    where
        order_status = 'completed'
        and ordered_at < cast({{ as_of_date() }} as timestamp)

),

people as (

    -- Until identity resolution lands, a person is a customer id: every CRM customer and
    -- every customer id seen on an order (the CRM export is optional; guest orders without
    -- a customer id wait for identity resolution).
    select customer_id from customers
    union
    select customer_id from orders
    where customer_id is not null

),

order_totals as (

    select
        customer_id,
        max(ordered_at) as last_ordered_at,
        count(*) as frequency,
        sum(amount) as monetary
    from completed_orders
    group by customer_id

),

measured as (

    select
        people.customer_id as person_id,
        {{ as_of_date() }} as as_of_date,
        order_totals.last_ordered_at,
        {{ as_of_date() }} - cast(order_totals.last_ordered_at as date) as recency_days,
        coalesce(order_totals.frequency, 0) as frequency,
        coalesce(order_totals.monetary, 0) as monetary
    from people
    left join order_totals
        on people.customer_id = order_totals.customer_id

),

scored as (

    -- Quintiles among buyers (ties broken by person_id so runs repeat exactly);
    -- people with no completed order score 1 on all three and are named "Prospects".
    select
        *,
        case when frequency > 0 then ntile(5) over (
            partition by frequency > 0 order by recency_days desc, person_id asc
        ) else 1 end as r_score,
        case when frequency > 0 then ntile(5) over (
            partition by frequency > 0 order by frequency, person_id
        ) else 1 end as f_score,
        case when frequency > 0 then ntile(5) over (
            partition by frequency > 0 order by monetary, person_id
        ) else 1 end as m_score
    from measured

),

final as (

    select
        scored.person_id,
        scored.as_of_date,
        scored.last_ordered_at,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        case
            when scored.frequency = 0 then 'Prospects'
            else segment_map.rfm_segment
        end as rfm_segment
    from scored
    left join segment_map
        on
            scored.r_score between segment_map.r_score_min and segment_map.r_score_max
            and scored.f_score between segment_map.f_score_min and segment_map.f_score_max

)

select * from final
