{#-
    Recency, frequency and monetary value per person as of the run's date, scored 1–5 and
    named by the RFM grid seed. One row per person of dim_customers.

    The rules are the macro `rfm_by_date`'s, which int_features__rfm applies to every
    feature snapshot date (the ML's training cutoffs). This mart applies them to the run's
    date alone, straight from the facts: BI, the rule segments and the quality gates read
    it, and it costs one date, not all of them (at 1M customers, as queries alone: 1.5 s,
    against 3.7-4.2 s for int_features__rfm's three dates). Counted: completed orders in
    fct_orders (online and store, so before the as-of date) with a person. Refunded and
    cancelled orders count neither as an order nor as money. Scores are quintiles among
    buyers, 5 is best. People without a completed order have frequency 0, monetary 0, null
    recency and tenure, scores 1 and the segment `Prospects`.

    Types: days and scores integer, frequency bigint, money decimal(18, 2), rates double.
-#}
with

as_of_dates as (

    select * from {{ ref('int_features__as_of_dates') }}
    where as_of_date = {{ as_of_date() }}

),

people as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

rfm as (

    {{ rfm_by_date('as_of_dates', 'people', 'orders', 'segment_map') | indent(4) }}

),

final as (

    select
        person_id,
        as_of_date,
        first_ordered_at,
        last_ordered_at,
        recency_days,
        tenure_days,
        frequency,
        monetary,
        avg_order_value,
        r_score,
        f_score,
        m_score,
        rfm_cell,
        rfm_segment
    from rfm

)

select * from final
